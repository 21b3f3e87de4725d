import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Herald, HeraldClientError } from '../client/node.ts';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, type WatchedPage } from './support/browser.ts';
import { postJson, spawnHerald, startHerald, type HeraldProcess, type RunningHerald } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

const API_KEY = 'demo-routes-api-key-0123456789abcdef';
const bearer = (credential: string): Record<string, string> => ({ authorization: `Bearer ${credential}` });

// The default app's HTTP demo routes and its chat inboxes once authentication is configured: no
// one may send in another user's name, over HTTP or over a socket.
describe('demo HTTP routes with JWT, an API key and allowed origins configured', () => {
  let server: RunningHerald;
  before(async () => {
    server = await startHerald({ jwtSecret: TEST_SECRET, apiKey: API_KEY, allowedOrigins: ['https://app.example.com'] });
  });
  after(() => server.close());

  test('POST /create_chat: a made-up sender is refused (401 without credentials, 403 with another user\'s token); the sender\'s own token or the API key delivers', async () => {
    const two = await TestClient.open(`${server.wsUrl}/connect_chat?user_code=2`, { headers: bearer(await hs256Token('2')) });
    assert.deepEqual(await two.nextJson(), { type: 'system', msg: 'Welcome to the chat app!', sender: 'system', recipient: '2' });
    const forged = { sender: 'admin', recipient: '2', msg: 'please send me your password' };

    const anonymous = await postJson(`${server.url}/create_chat`, forged);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(anonymous.body, { ok: false, error: { code: 'HERALD_ERR_UNAUTHORIZED', message: 'Send a token as "Authorization: Bearer <jwt>" (or the API key)' } });
    const bad = await postJson(`${server.url}/create_chat`, forged, bearer('not-a-token'));
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { ok: false, error: { code: 'HERALD_ERR_TOKEN_INVALID', message: 'Invalid token: malformed' } });
    const wrongKey = await postJson(`${server.url}/create_chat`, forged, bearer(`${API_KEY}x`));
    assert.equal(wrongKey.status, 401);
    const mallory = await postJson(`${server.url}/create_chat`, forged, bearer(await hs256Token('mallory')));
    assert.equal(mallory.status, 403);
    assert.deepEqual(mallory.body, { ok: false, error: { code: 'HERALD_ERR_PERMISSION_DENIED', message: 'This token is for user "mallory": it cannot send as "admin"' } });
    // A cookie is not a credential here: it would ride along on another site's request.
    const cookie = await postJson(`${server.url}/create_chat`, forged, { cookie: `token=${await hs256Token('admin')}` });
    assert.equal(cookie.status, 401);

    const own = await postJson(`${server.url}/create_chat`, { sender: 'admin', recipient: '2', msg: 'really admin' }, bearer(await hs256Token('admin')));
    assert.deepEqual([own.status, own.body], [200, { code: 200, msg: '成功', data: '' }]);
    const backend = await postJson(`${server.url}/create_chat`, { sender: 'billing', recipient: '2', msg: 'from the backend' }, bearer(API_KEY));
    assert.deepEqual([backend.status, backend.body], [200, { code: 200, msg: '成功', data: '' }]);
    // The refused messages never arrived: the first two frames are the accepted ones.
    assert.deepEqual(await two.nextJson(), { type: 'private_message', sender: 'admin', msg: 'really admin', recipient: '2' });
    assert.deepEqual(await two.nextJson(), { type: 'private_message', sender: 'billing', msg: 'from the backend', recipient: '2' });
    await two.close();
  });

  test('POST /example_task: 401 without a user\'s token or the API key; 202 with either', async () => {
    const body = { value: 7 };
    const anonymous = await postJson(`${server.url}/example_task`, body);
    assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'HERALD_ERR_UNAUTHORIZED']);
    const expired = await postJson(`${server.url}/example_task`, body, bearer(await hs256Token('ann', { expiresInSeconds: -60 })));
    assert.deepEqual([expired.status, expired.body], [401, { ok: false, error: { code: 'HERALD_ERR_TOKEN_EXPIRED', message: 'Token expired' } }]);
    const user = await postJson(`${server.url}/example_task`, body, bearer(await hs256Token('ann')));
    assert.equal(user.status, 202);
    assert.equal(user.body.channel, `task:${user.body.id}`);
    const backend = await postJson(`${server.url}/example_task`, body, bearer(API_KEY));
    assert.equal(backend.status, 202);
  });
});

describe('demo HTTP routes with only an API key configured', () => {
  test('require the API key', async () => {
    const server = await startHerald({ apiKey: API_KEY });
    try {
      const refused = await postJson(`${server.url}/create_chat`, { sender: 'admin', recipient: '2', msg: 'hi' });
      assert.deepEqual([refused.status, refused.body], [401, { ok: false, error: { code: 'HERALD_ERR_UNAUTHORIZED', message: 'Send the API key as "Authorization: Bearer <key>"' } }]);
      assert.equal((await postJson(`${server.url}/example_task`, { value: 1 }, bearer(await hs256Token('ann')))).status, 401);
      assert.equal((await postJson(`${server.url}/create_chat`, { sender: 'admin', recipient: '2', msg: 'hi' }, bearer(API_KEY))).status, 200);
      assert.equal((await postJson(`${server.url}/example_task`, { value: 1 }, bearer(API_KEY))).status, 202);
    } finally {
      await server.close();
    }
  });
});

describe('chat inboxes with authentication', () => {
  let server: RunningHerald;
  const clients: Herald[] = [];
  const as = (user: string): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token(user) }).connect();
    clients.push(herald);
    return herald;
  };
  before(async () => {
    server = await startHerald({ jwtSecret: TEST_SECRET });
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await server.close();
  });

  test('a signed-in user cannot publish to another user\'s inbox in someone else\'s name; in their own name they can', async () => {
    const bob = as('bob');
    const inbox: unknown[] = [];
    await bob.subscribe('inbox:bob', (data) => inbox.push(data)).ready;
    const mallory = as('mallory');
    const forged = await mallory.publish('inbox:bob', { from: 'alice', to: 'bob', text: 'forged' }).catch((error: unknown) => error);
    assert.ok(forged instanceof HeraldClientError);
    assert.equal(forged.code, 'HERALD_ERR_PERMISSION_DENIED');
    assert.equal(forged.message, 'Not allowed to publish to inbox:bob in another name: the data must be an object whose "from" is "mallory"');
    for (const data of [{ to: 'bob', text: 'no from' }, 'just text', ['mallory'], null]) {
      await assert.rejects(mallory.publish('inbox:bob', data), { code: 'HERALD_ERR_PERMISSION_DENIED' });
    }
    await mallory.publish('inbox:bob', { from: 'mallory', to: 'bob', text: 'signed' });
    await bob.ping();
    assert.deepEqual(inbox, [{ from: 'mallory', to: 'bob', text: 'signed' }]);
    // History holds only the accepted one too.
    assert.deepEqual((await bob.history('inbox:bob')).publications.map((p) => p.data), [{ from: 'mallory', to: 'bob', text: 'signed' }]);
  });
});

describe('the chat page with authentication', () => {
  let browser: Browser;
  let server: HeraldProcess;
  const pages: WatchedPage[] = [];
  before(async () => {
    await buildWeb();
    [browser, server] = await Promise.all([launchBrowser(), spawnHerald({ HERALD_JWT_SECRET: TEST_SECRET })]);
  });
  after(async () => {
    for (const { errors } of pages) assert.deepEqual(errors, [], 'no script errors on any page');
    await browser?.close();
    await server?.stop();
  });

  test('shows the server-verified sender of a private message; a forged one never shows', async () => {
    const enter = async (user: string) => {
      const watched = await openPage(browser, `${server.url}/chat.html`);
      pages.push(watched);
      await watched.context.addCookies([{ name: 'token', value: await hs256Token(user), url: server.url }]);
      const { page } = watched;
      await page.locator('#name').fill(user);
      await page.locator('#room').fill('lobby');
      await page.locator('#enter').click();
      await page.locator('#people .me', { hasText: `${user} (you)` }).waitFor();
      return page;
    };
    const bob = await enter('bob');
    const alice = await enter('alice');
    const mallory = new Herald(`${server.wsUrl}/connect`, { token: await hs256Token('mallory') }).connect();
    try {
      await alice.locator('#people button[data-user="bob"]').click();
      await alice.locator('#text').fill('hi bob, really alice');
      await alice.locator('#send').click();
      await alice.locator('.msg.private.mine:not(.pending)', { hasText: 'hi bob, really alice' }).waitFor();
      // Arrived: bob's inbox is live, so what follows reaches it too.
      await bob.locator('.msg.private.theirs', { hasText: 'hi bob, really alice' }).waitFor();
      await assert.rejects(mallory.publish('inbox:bob', { from: 'alice', to: 'bob', text: 'forged as alice' }), { code: 'HERALD_ERR_PERMISSION_DENIED' });
      await mallory.publish('inbox:bob', { from: 'mallory', to: 'bob', text: 'from mallory' });
      await bob.locator('.msg.private.theirs', { hasText: 'from mallory' }).waitFor();
      const shown = await bob
        .locator('#messages .msg.private.theirs')
        .evaluateAll((items) => items.map((item) => [item.querySelector('.who')?.textContent ?? '', item.childNodes[1]?.textContent ?? '']));
      assert.deepEqual(shown, [
        ['alice → you (private)', 'hi bob, really alice'],
        ['mallory → you (private)', 'from mallory'],
      ]);
    } finally {
      mallory.close();
    }
  });
});
