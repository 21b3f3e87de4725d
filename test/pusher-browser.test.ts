import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';
import { connected, pusherClient, serverLibrary, subscribed, type PusherClient } from './support/pusher.ts';
import { REDIS_URL, deleteKeys, spawnHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';

const DEMO_APP = { id: 'herald-demo', key: 'herald-demo', secret: 'herald-demo-open-secret', clientEvents: true };

/**
 * The demo page runs pusher-js's browser build, unchanged, in Chromium: one tab on each of two
 * processes on Redis, and a pusher-js Node client beside them.
 */
describe('the Pusher demo page in Chromium, on two processes', () => {
  const prefix = uniquePrefix();
  let browser: Browser;
  let a: HeraldProcess;
  let b: HeraldProcess;
  const pages: WatchedPage[] = [];
  const nodeClients: PusherClient[] = [];

  before(async () => {
    await buildWeb();
    const env = { REDIS_URL, HERALD_REDIS_PREFIX: prefix };
    [browser, a, b] = await Promise.all([launchBrowser(), spawnHerald(env), spawnHerald(env)]);
  });
  after(async () => {
    for (const { errors, outsideRequests } of pages) {
      assert.deepEqual(errors, [], 'no script errors on the page');
      assert.deepEqual(outsideRequests, [], 'no request leaves the server');
    }
    for (const client of nodeClients) client.disconnect();
    await browser?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(prefix);
  });

  const join = async (url: string, name: string): Promise<WatchedPage> => {
    const watched = await openPage(browser, `${url}/pusher.html`);
    pages.push(watched);
    await watched.page.fill('#name', name);
    await watched.page.click('#join button');
    await watched.page.locator('#status[data-state="connected"]').waitFor();
    return watched;
  };

  test('two tabs on two processes see each other in presence-lobby and exchange client events; a Node client and the server library join in', async () => {
    const ada = await join(a.url, 'ada');
    await ada.page.locator('#members[data-count="1"]').waitFor();
    const bob = await join(b.url, 'bob');
    await bob.page.locator('#members[data-count="2"]').waitFor();
    await ada.page.locator('#members[data-count="2"]').waitFor();
    assert.equal(await ada.page.locator('#members').textContent(), 'Here (2): ada, bob');
    await ada.page.locator('.msg.notice', { hasText: 'bob joined' }).waitFor();

    await ada.page.fill('#text', 'hello from ada');
    await ada.page.click('#send');
    await bob.page.locator('.msg.theirs', { hasText: 'hello from ada' }).waitFor();
    assert.equal(await bob.page.locator('.msg.theirs .who').first().textContent(), 'ada');
    assert.equal(await ada.page.locator('.msg.theirs').count(), 0, 'the sender does not get its own client event');

    // pusher-js in Node on process B, connected beside the tabs.
    const node = pusherClient(b.url, { app: DEMO_APP });
    nodeClients.push(node);
    await connected(node);
    const pusher = serverLibrary(a.url, DEMO_APP);
    const users = (await (await pusher.get({ path: '/channels/presence-lobby/users' })).json()) as { users: { id: string }[] };
    assert.deepEqual(users, { users: [{ id: 'ada' }, { id: 'bob' }] });

    await bob.page.close();
    await ada.page.locator('.msg.notice', { hasText: 'bob left' }).waitFor();
    await ada.page.locator('#members[data-count="1"]').waitFor();
    await screenshot(ada.page, 'pusher');
  });

  test('a public channel event from the server library reaches pusher-js in Node on the other process', async () => {
    const node = pusherClient(b.url, { app: DEMO_APP });
    nodeClients.push(node);
    const channel = await subscribed(node, 'announcements');
    const got = new Promise((resolve) => channel.bind('notice', resolve));
    await serverLibrary(a.url, DEMO_APP).trigger('announcements', 'notice', { text: 'hi' });
    assert.deepEqual(await got, { text: 'hi' });
  });
});
