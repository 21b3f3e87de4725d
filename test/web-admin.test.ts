import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';
import { REDIS_URL, spawnHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

const KEY = 'admin-test-key-7f3a';

// The admin page in Chromium against two Herald processes sharing Redis.
describe('admin page across two server processes sharing Redis', () => {
  const env = { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_API_KEY: KEY, HERALD_NODE_ANNOUNCE_MS: '500', HERALD_JWT_SECRET: TEST_SECRET, HERALD_ADMIN_CLAIM: 'admin' };
  let browser: Browser;
  let serverA: HeraldProcess;
  let serverB: HeraldProcess;
  const pages: WatchedPage[] = [];

  before(async () => {
    await buildWeb();
    [browser, serverA, serverB] = await Promise.all([launchBrowser(), spawnHerald(env), spawnHerald(env)]);
  });
  after(async () => {
    for (const { errors, outsideRequests } of pages) {
      assert.deepEqual(errors, [], 'no script errors on any page');
      assert.deepEqual(outsideRequests, [], 'no request leaves the server');
    }
    await browser?.close();
    await Promise.all([serverA?.stop(), serverB?.stop()]);
  });

  test('a wrong key is refused; with the key the page lists both nodes and publishes to a socket on the other process', async () => {
    const watched = await openPage(browser, `${serverA.url}/admin`);
    pages.push(watched);
    const { page } = watched;
    await page.setViewportSize({ width: 1000, height: 800 });

    await page.locator('#key').fill('wrong');
    await page.locator('#sign-in').click();
    await page.locator('#status[data-state="closed"]', { hasText: 'The key was refused' }).waitFor();
    assert.equal(await page.locator('#key-form').isVisible(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('herald-admin-key')), null);

    await page.locator('#key').fill(KEY);
    await page.locator('#sign-in').click();
    await page.locator('#status[data-state="connected"]', { hasText: 'Signed in' }).waitFor();
    const portA = new URL(serverA.url).port;
    const portB = new URL(serverB.url).port;
    // A socket on B, so B's row shows a connection once it announces itself again.
    const listener = await TestClient.open(`${serverB.wsUrl}/ws/admin-news?token=${await hs256Token('listener')}`);
    try {
      await page.locator('#nodes tbody tr .address', { hasText: `:${portB}` }).waitFor();
      await page.locator('#nodes tbody tr .address', { hasText: `:${portA}` }).waitFor();
      const rowB = page.locator('#nodes tbody tr', { has: page.locator('.address', { hasText: `:${portB}` }) });
      await rowB.locator('.connections', { hasText: /^1$/ }).waitFor();
      assert.equal(await page.locator('#nodes tbody tr').count(), 2);
      assert.equal(await page.locator('#nodes-note').textContent().then((text) => text?.startsWith('2 nodes, updated ')), true);
      const rowA = page.locator('#nodes tbody tr', { has: page.locator('.address', { hasText: `:${portA}` }) });
      assert.match((await rowA.locator('td').first().textContent()) ?? '', / \(this one\)$/);
      assert.deepEqual(await rowB.locator('td').nth(2).textContent(), 'redis');

      // Publish from the form on A's page; the socket on B receives it.
      await page.locator('#publish-channel').fill('admin-news');
      await page.locator('#publish-data').fill('{"headline":"from the admin page"}');
      await page.locator('#publish').click();
      await page.locator('#publish-result', { hasText: 'Published to admin-news' }).waitFor();
      assert.equal(await listener.next(), '{"headline":"from the admin page"}');
      // The charts: one line per node, labelled with its address, from the page's own polls.
      const hostB = (await rowB.locator('.address').textContent())!;
      const hostA = (await rowA.locator('.address').textContent())!;
      for (const chart of ['#chart-connections', '#chart-deliveries']) {
        await page.locator(`${chart} .u-legend .u-series`, { hasText: hostB }).waitFor();
        const labels = await page.locator(`${chart} .u-legend .u-series:not(:first-child) .u-label`).allTextContents();
        assert.deepEqual(labels, [hostA, hostB].sort(), chart);
        assert.equal(await page.locator(`${chart} canvas`).count(), 1, chart);
      }
      assert.deepEqual(await page.locator('#chart-connections .u-title').textContent(), 'Connections');
      await screenshot(page, 'admin-two-nodes');

      // The key stays for this tab: a reload signs in again without asking.
      await page.reload();
      await page.locator('#status[data-state="connected"]').waitFor();
      assert.equal(await page.locator('#key-form').isHidden(), true);
    } finally {
      listener.ws.close();
    }
  });

  test("disconnecting a user from the page closes that user's sockets on both processes with 4502, and nobody else's", async () => {
    const watched = await openPage(browser, `${serverB.url}/admin`);
    pages.push(watched);
    const { page } = watched;
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.locator('#key').fill(KEY);
    await page.locator('#sign-in').click();
    await page.locator('#status[data-state="connected"]').waitFor();

    const mallory = await hs256Token('mallory');
    const [onA, onB, connectOnA, bystander] = await Promise.all([
      TestClient.open(`${serverA.wsUrl}/ws/chat-a?token=${mallory}`),
      TestClient.open(`${serverB.wsUrl}/ws/chat-b?token=${mallory}`),
      TestClient.open(`${serverA.wsUrl}/connect?token=${mallory}`),
      TestClient.open(`${serverA.wsUrl}/ws/chat-a?token=${await hs256Token('alice')}`),
    ]);
    try {
      await page.locator('#disconnect-user').fill('mallory');
      await page.locator('#disconnect').click();
      await page.locator('#disconnect-result', { hasText: 'Every process was told to disconnect mallory' }).waitFor();
      const expected = { code: 4502, reason: 'Disconnected by an administrator' };
      assert.deepEqual(await onA.closed, expected);
      assert.deepEqual(await onB.closed, expected);
      assert.deepEqual(await connectOnA.closed, expected);
      await screenshot(page, 'admin-disconnect');
      // alice is still connected: a publication reaches her.
      const published = await fetch(`${serverB.url}/api/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'chat-a', data: 'still here' }),
      });
      assert.equal(published.status, 200);
      assert.equal(await bystander.next(), 'still here');
    } finally {
      for (const client of [onA, onB, connectOnA, bystander]) client.ws.close();
    }
  });

  test('channel search is cluster-wide: processes subscribed, subscribers on every process and on this one, and a channel\'s last publications', async () => {
    const token = await hs256Token('searcher');
    const clients = await Promise.all([
      TestClient.open(`${serverA.wsUrl}/ws/room:1?token=${token}`),
      TestClient.open(`${serverB.wsUrl}/ws/room:1?token=${token}`),
      TestClient.open(`${serverB.wsUrl}/ws/room:1?token=${token}`),
      TestClient.open(`${serverB.wsUrl}/ws/room:2?token=${token}`),
      TestClient.open(`${serverB.wsUrl}/ws/other?token=${token}`),
    ]);
    const auth = { authorization: `Bearer ${KEY}` };
    try {
      const search = await fetch(`${serverA.url}/api/admin/channels?prefix=room:`, { headers: auth });
      assert.equal(search.status, 200);
      assert.deepEqual(await search.json(), {
        channels: [
          { channel: 'room:1', processes: 2, subscribers: 3, localSubscribers: 1 },
          { channel: 'room:2', processes: 1, subscribers: 1, localSubscribers: 0 },
        ],
        nodes: { answered: 2, expected: 2 },
      });
      for (const data of ['first', { n: 2 }]) {
        const published = await fetch(`${serverA.url}/api/publish`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'room:1', data }) });
        assert.equal(published.status, 200);
      }
      // The same from the page, signed in on B.
      const watched = await openPage(browser, `${serverB.url}/admin`);
      pages.push(watched);
      const { page } = watched;
      await page.setViewportSize({ width: 1000, height: 1000 });
      await page.locator('#key').fill(KEY);
      await page.locator('#sign-in').click();
      await page.locator('#status[data-state="connected"]').waitFor();
      await page.locator('#search-prefix').fill('room:');
      await page.locator('#search').click();
      await page.locator('#search-result', { hasText: '2 channels with subscribers' }).waitFor();
      const rows = await page.locator('#channels tbody tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
      assert.deepEqual(rows, [['room:1', '2', '3', '2'], ['room:2', '1', '1', '1']]);
      await page.locator('#channels button[data-channel="room:1"]').click();
      await page.locator('#detail-name', { hasText: 'room:1' }).waitFor();
      assert.deepEqual(await page.locator('#detail-publications li').allTextContents(), ['#1 "first"', '#2 {"n":2}']);
      assert.equal(await page.locator('#detail-presence').textContent(), 'nobody');
      await screenshot(page, 'admin-channels');

      const detail = await fetch(`${serverB.url}/api/admin/channels/room:1`, { headers: auth });
      assert.equal(detail.status, 200);
      assert.deepEqual(await detail.json(), { channel: 'room:1', presence: [], publications: [{ offset: 1, data: 'first' }, { offset: 2, data: { n: 2 } }] });
    } finally {
      for (const client of clients) client.ws.close();
    }
  });

  test('an operator signs in with an admin token instead of the key; a user token is turned away', async () => {
    const watched = await openPage(browser, `${serverB.url}/admin`);
    pages.push(watched);
    const { page } = watched;
    await page.locator('#key').fill(await hs256Token('alice'));
    await page.locator('#sign-in').click();
    await page.locator('#status[data-state="closed"]', { hasText: 'That token is not an admin token' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('herald-admin-key')), null);
    await page.locator('#key').fill(await hs256Token('ops-1', { claims: { admin: true } }));
    await page.locator('#sign-in').click();
    await page.locator('#status[data-state="connected"]', { hasText: 'Signed in' }).waitFor();
    await page.locator('#nodes tbody tr .address', { hasText: `:${new URL(serverA.url).port}` }).waitFor();
    assert.equal(await page.locator('#nodes tbody tr').count(), 2);
  });

  test('the page needs the key for its data: the API answers 401 without it', async () => {
    const response = await fetch(`${serverA.url}/api/nodes`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(response.status, 401);
    const disconnect = await fetch(`${serverA.url}/api/admin/disconnect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"x"}' });
    assert.equal(disconnect.status, 401);
  });
});

describe('admin page without an API key', () => {
  let server: HeraldProcess;
  before(async () => {
    await buildWeb();
    server = await spawnHerald({});
  });
  after(async () => {
    await server?.stop();
  });

  test('is closed: 404 with a JSON reason', async () => {
    const response = await fetch(`${server.url}/admin`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), {
      ok: false,
      error: { code: 'HERALD_ERR_NOT_FOUND', message: 'The admin page is closed: set HERALD_API_KEY or HERALD_ADMIN_CLAIM to open it' },
    });
    const disconnect = await fetch(`${server.url}/api/admin/disconnect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"x"}' });
    assert.equal(disconnect.status, 404);
    assert.deepEqual(await disconnect.json(), {
      ok: false,
      error: { code: 'HERALD_ERR_NOT_FOUND', message: 'Admin commands are closed: set HERALD_API_KEY or HERALD_ADMIN_CLAIM to open them' },
    });
  });
});
