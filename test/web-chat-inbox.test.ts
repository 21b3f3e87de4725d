import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { Herald } from '../client/node.ts';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';
import { spawnHerald, type HeraldProcess } from './support/servers.ts';
import { hs256Token, TEST_SECRET } from './support/tokens.ts';

// The chat page on a server with authentication: private messages are stored for a user who is
// away and shown, marked, when they come back; once shown (acknowledged) they do not come again.
describe('the chat page: messages that arrived while you were away', () => {
  let browser: Browser;
  let server: HeraldProcess;
  const pages: WatchedPage[] = [];
  before(async () => {
    await buildWeb();
    [browser, server] = await Promise.all([launchBrowser(), spawnHerald({ HERALD_JWT_SECRET: TEST_SECRET, HERALD_DEMOS: 'true' })]);
  });
  after(async () => {
    for (const { errors } of pages) assert.deepEqual(errors, [], 'no script errors on any page');
    await browser?.close();
    await server?.stop();
  });

  const enter = async (user: string): Promise<WatchedPage> => {
    const watched = await openPage(browser, `${server.url}/chat.html`);
    pages.push(watched);
    await watched.context.addCookies([{ name: 'token', value: await hs256Token(user), url: server.url }]);
    const { page } = watched;
    await page.locator('#name').fill(user);
    await page.locator('#room').fill('lobby');
    await page.locator('#enter').click();
    await page.locator('#people .me', { hasText: `${user} (you)` }).waitFor();
    return watched;
  };
  const privateMessages = (watched: WatchedPage): Promise<string[][]> =>
    watched.page
      .locator('#messages .msg.private.theirs')
      .evaluateAll((items) => items.map((item) => [item.querySelector('.who')?.textContent ?? '', item.childNodes[1]?.textContent ?? '', item.classList.contains('away') ? 'away' : 'live']));

  test('shown marked as arrived while away, in order, once; a live one unmarked; a reload shows none again', async () => {
    const alice = new Herald(`${server.wsUrl}/connect`, { token: () => hs256Token('alice') }).connect();
    try {
      // Bob has no page open: both are kept for him.
      for (const text of ['are you there?', 'call me back']) {
        const sent = await alice.send('bob', { text, at: Date.now() }, { store: true });
        assert.equal(sent.live, false);
        assert.equal(sent.stored, true);
      }
      const bob = await enter('bob');
      await bob.page.locator('.msg.private.theirs.away', { hasText: 'call me back' }).waitFor();
      await screenshot(bob.page, 'chat-while-away');
      const live = await alice.send('bob', { text: 'oh, you are back', at: Date.now() }, { store: true });
      assert.equal(live.live, true);
      await bob.page.locator('.msg.private.theirs', { hasText: 'oh, you are back' }).waitFor();
      assert.deepEqual(await privateMessages(bob), [
        ['alice → you (private, while you were away)', 'are you there?', 'away'],
        ['alice → you (private, while you were away)', 'call me back', 'away'],
        ['alice → you (private)', 'oh, you are back', 'live'],
      ]);
      // Everything shown was acknowledged: a reload (a new connection) is not sent them again.
      await bob.page.reload();
      await bob.page.locator('#people .me', { hasText: 'bob (you)' }).waitFor();
      await alice.send('bob', { text: 'after the reload', at: Date.now() }, { store: true });
      await bob.page.locator('.msg.private.theirs', { hasText: 'after the reload' }).waitFor();
      assert.deepEqual(await privateMessages(bob), [['alice → you (private)', 'after the reload', 'live']]);
    } finally {
      alice.close();
    }
  });
});
