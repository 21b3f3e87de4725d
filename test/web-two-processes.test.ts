import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';
import { REDIS_URL, spawnHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';

// The chat and task pages in Chromium, as people use them: each on their own server process, the
// two processes sharing Redis, as behind a load balancer, and one of them restarted.
describe('demo pages across two server processes sharing Redis', () => {
  const env = { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix() };
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

  /** Opens the chat on `server` in a browser context of its own and enters `room` as `name`. */
  async function enter(server: HeraldProcess, name: string, room: string): Promise<Page> {
    const watched = await openPage(browser, `${server.url}/chat.html`);
    pages.push(watched);
    const { page } = watched;
    assert.equal(await page.locator('#status').isHidden(), true, 'no connection state before joining');
    await page.locator('#name').fill(name);
    await page.locator('#room').fill(room);
    await page.locator('#enter').click();
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#people .me', { hasText: `${name} (you)` }).waitFor();
    return page;
  }

  async function say(page: Page, text: string): Promise<void> {
    await page.locator('#text').fill(text);
    await page.locator('#send').click();
  }

  /** The conversation as a page shows it: [who, text] of every message, notices left out. */
  function conversation(page: Page, which = '.msg'): Promise<string[][]> {
    return page
      .locator(`#messages ${which}:not(.notice)`)
      .evaluateAll((items) => items.map((item) => [item.querySelector('.who')?.textContent ?? '', item.childNodes[1]?.textContent ?? '']));
  }

  async function people(page: Page): Promise<string[]> {
    return page.locator('#people button').allTextContents();
  }

  test('room and private messages cross processes, presence follows arrivals and departures, history greets newcomers', async () => {
    const ada = await enter(serverA, 'ada', 'lobby');
    const bob = await enter(serverB, 'bob', 'lobby');
    await ada.locator('#people button[data-user="bob"]').waitFor();
    await ada.locator('.msg.notice', { hasText: 'bob joined' }).waitFor();
    assert.deepEqual(await people(ada), ['ada (you)', 'bob']);
    assert.deepEqual(await people(bob), ['ada', 'bob (you)']);

    await say(ada, 'hi bob');
    await bob.locator('.msg.theirs', { hasText: 'hi bob' }).waitFor();
    await say(bob, 'hello ada');
    await ada.locator('.msg.theirs', { hasText: 'hello ada' }).waitFor();

    // Private: bob taps ada's name; only ada gets it, marked as private.
    await bob.locator('#people button[data-user="ada"]').click();
    assert.equal(await bob.locator('#recipient').inputValue(), 'ada');
    await say(bob, 'psst, just for you');
    await ada.locator('.msg.private.theirs', { hasText: 'psst, just for you' }).waitFor();
    await bob.locator('.msg.private.mine:not(.pending)', { hasText: 'psst, just for you' }).waitFor();

    const expected = [
      ['ada', 'hi bob'],
      ['bob', 'hello ada'],
    ];
    await ada.locator('.msg.mine:not(.pending)', { hasText: 'hi bob' }).waitFor();
    assert.deepEqual(await conversation(ada), [...expected, ['bob → you (private)', 'psst, just for you']]);
    assert.deepEqual(await conversation(bob), [...expected, ['You → ada (private)', 'psst, just for you']]);
    const [mine, theirs] = await ada.locator('#messages .msg:not(.notice)').evaluateAll((items) => items.slice(0, 2).map((item) => getComputedStyle(item).backgroundColor));
    assert.notEqual(mine, theirs, 'your messages and theirs in two colours');
    await screenshot(ada, 'chat-ada');
    await screenshot(bob, 'chat-bob');

    // A newcomer on the other process sees the room's history, not the private message.
    const cyd = await enter(serverB, 'cyd', 'lobby');
    await cyd.locator('.msg', { hasText: 'hello ada' }).waitFor();
    assert.deepEqual(await conversation(cyd), expected);
    assert.deepEqual(await people(cyd), ['ada', 'bob', 'cyd (you)']);
    await ada.locator('#people button[data-user="cyd"]').waitFor();

    // bob closes his page: he leaves everyone's list.
    await pages.find((watched) => watched.page === bob)!.context.close();
    await ada.locator('.msg.notice', { hasText: 'bob left' }).waitFor();
    await cyd.locator('.msg.notice', { hasText: 'bob left' }).waitFor();
    assert.deepEqual(await people(ada), ['ada (you)', 'cyd']);
    assert.deepEqual(await people(cyd), ['ada', 'cyd (you)']);
    await screenshot(cyd, 'chat-newcomer-after-bob-left');
  });

  test('a server restarted mid-conversation: the page shows it is reconnecting, then every message sent meanwhile, none twice', async () => {
    const ada = await enter(serverA, 'ada2', 'restart');
    const bob = await enter(serverB, 'bob2', 'restart');
    await say(ada, 'before 1');
    await say(bob, 'before 2');
    await ada.locator('.msg', { hasText: 'before 2' }).waitFor();

    const port = new URL(serverA.url).port;
    await serverA.stop();
    await ada.locator('#status[data-state="reconnecting"]').waitFor();
    for (const text of ['while down 1', 'while down 2', 'while down 3']) await say(bob, text);
    await say(ada, 'typed while reconnecting');
    await ada.locator('#recipient').selectOption('bob2');
    await say(ada, 'private while reconnecting');
    await ada.locator('.msg.pending', { hasText: 'typed while reconnecting' }).waitFor();
    await ada.locator('.msg.pending', { hasText: 'private while reconnecting' }).waitFor();
    await screenshot(ada, 'chat-reconnecting');

    serverA = await spawnHerald({ ...env, PORT: port });
    await ada.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await ada.locator('.msg.mine:not(.pending)', { hasText: 'typed while reconnecting' }).waitFor();
    await bob.locator('.msg.theirs', { hasText: 'typed while reconnecting' }).waitFor();
    await ada.locator('.msg', { hasText: 'while down 3' }).waitFor();
    await bob.locator('.msg.private.theirs', { hasText: 'private while reconnecting' }).waitFor();
    await ada.locator('.msg.private.mine:not(.pending)', { hasText: 'private while reconnecting' }).waitFor();

    const expected = [
      ['ada2', 'before 1'],
      ['bob2', 'before 2'],
      ['bob2', 'while down 1'],
      ['bob2', 'while down 2'],
      ['bob2', 'while down 3'],
      ['ada2', 'typed while reconnecting'],
    ];
    assert.deepEqual(await conversation(ada, '.msg:not(.private)'), expected);
    assert.deepEqual(await conversation(bob, '.msg:not(.private)'), expected);
    assert.deepEqual(await conversation(ada, '.msg.private'), [['You → bob2 (private)', 'private while reconnecting']]);
    assert.deepEqual(await conversation(bob, '.msg.private'), [['ada2 → you (private)', 'private while reconnecting']]);
    await ada.locator('.msg.notice', { hasText: 'Reconnected: messages sent meanwhile are shown.' }).waitFor();
    await screenshot(ada, 'chat-after-restart');
  });

  /** Every item of the list as [who, text], notices as ['notice', text], from the message saying `from`. */
  async function listFrom(page: Page, from: string): Promise<string[][]> {
    const items = await page
      .locator('#messages .msg')
      .evaluateAll((list) => list.map((item) => (item.classList.contains('notice') ? ['notice', item.textContent ?? ''] : [item.querySelector('.who')?.textContent ?? '', item.childNodes[1]?.textContent ?? ''])));
    const start = items.findIndex(([, text]) => text === from);
    assert.notEqual(start, -1, `${from} is shown`);
    return items.slice(start).filter(([who, text]) => who !== 'notice' || !/ (joined|left)$/.test(text!));
  }

  test('a process killed with kill -9: what was missed, room and private, comes back in the order it was written, under the notice', async () => {
    const ada = await enter(serverA, 'ada3', 'outage');
    const bob = await enter(serverB, 'bob3', 'outage');
    await say(ada, 'before the outage');
    await bob.locator('.msg.theirs', { hasText: 'before the outage' }).waitFor();

    const port = new URL(serverA.url).port;
    await serverA.stop('SIGKILL');
    await ada.locator('#status[data-state="reconnecting"]').waitFor();
    await bob.locator('#recipient').selectOption('ada3');
    await say(bob, 'private, written first');
    await bob.locator('.msg.private.mine:not(.pending)', { hasText: 'private, written first' }).waitFor();
    await bob.locator('#recipient').selectOption('');
    await say(bob, 'room, written second');
    await say(bob, 'room, written third');
    await bob.locator('.msg.mine:not(.pending)', { hasText: 'room, written third' }).waitFor();

    serverA = await spawnHerald({ ...env, PORT: port });
    await ada.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await ada.locator('.msg', { hasText: 'room, written third' }).waitFor();
    await ada.locator('.msg.private', { hasText: 'private, written first' }).waitFor();
    assert.deepEqual(await listFrom(ada, 'before the outage'), [
      ['ada3', 'before the outage'],
      ['notice', 'Reconnected: messages sent meanwhile are shown.'],
      ['bob3 → you (private)', 'private, written first'],
      ['bob3', 'room, written second'],
      ['bob3', 'room, written third'],
    ]);
    await screenshot(ada, 'chat-after-kill');
  });

  test('names in any alphabet: 李雷 enters, is listed, and gets and sends private messages across processes', async () => {
    const lilei = await enter(serverA, '李雷', 'unicode');
    const ada = await enter(serverB, 'ada4', 'unicode');
    await lilei.locator('#people button[data-user="ada4"]').waitFor();
    await ada.locator('#people button[data-user="李雷"]').click();
    await say(ada, '你好');
    await lilei.locator('.msg.private.theirs', { hasText: '你好' }).waitFor();
    await lilei.locator('#people button[data-user="ada4"]').click();
    await say(lilei, 'hello from 李雷');
    await ada.locator('.msg.private.theirs', { hasText: 'hello from 李雷' }).waitFor();
    assert.deepEqual(await conversation(lilei, '.msg.private'), [['ada4 → you (private)', '你好'], ['You → ada4 (private)', 'hello from 李雷']]);
    assert.deepEqual(await conversation(ada, '.msg.private'), [['You → 李雷 (private)', '你好'], ['李雷 → you (private)', 'hello from 李雷']]);
    assert.equal(await lilei.locator('#me').textContent(), '李雷');
    await screenshot(lilei, 'chat-unicode-name');
  });

  test('a task page whose server restarts mid-task catches up: the progress it missed and the result', async () => {
    const watched = await openPage(browser, `${serverA.url}/task.html`);
    pages.push(watched);
    const { page } = watched;
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#task-value').fill('99');
    await page.locator('#start').click();
    await page.locator('#task-state[data-state="running"]').waitFor();

    const port = new URL(serverA.url).port;
    await serverA.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    serverA = await spawnHerald({ ...env, PORT: port });
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.locator('#task-state[data-state="completed"]').waitFor();
    assert.equal(await page.locator('#result').textContent(), 'Result: 99');
    assert.equal(await page.locator('#progress').evaluate((bar: HTMLProgressElement) => bar.value), 100);
    await screenshot(page, 'task-after-restart');
  });
});
