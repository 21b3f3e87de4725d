import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { demoPages } from '../src/app/demo-pages.ts';
import { buildWeb } from '../web/build.ts';
import { launchBrowser, openPage, screenshot, type WatchedPage } from './support/browser.ts';
import { spawnHerald, startHerald, type HeraldProcess } from './support/servers.ts';

// The single-process demo pages (index, echo, clock, task) driven in a real Chromium, against the
// server `npm start` runs. The chat across two processes is in web-chat.test.ts.
describe('demo pages in Chromium', () => {
  let browser: Browser;
  let server: HeraldProcess;
  const pages: WatchedPage[] = [];
  const open = async (path: string): Promise<WatchedPage> => {
    const watched = await openPage(browser, `${server.url}${path}`);
    pages.push(watched);
    return watched;
  };

  before(async () => {
    await buildWeb();
    // A 1 s clock and a 1.5 s example task keep the test short; the pages do not assume 5 s.
    [browser, server] = await Promise.all([
      launchBrowser(),
      spawnHerald({ HERALD_CLOCK_INTERVAL_MS: '1000', HERALD_EXAMPLE_TASK_DELAY_MS: '1500' }),
    ]);
  });
  after(async () => {
    for (const { errors, outsideRequests } of pages) {
      assert.deepEqual(errors, [], 'no script errors on any page');
      assert.deepEqual(outsideRequests, [], 'no request leaves the server');
    }
    await browser?.close();
    await server?.stop();
  });

  test('the index lists every demo and shows that the browser is connected, and to which broker', async () => {
    const { page } = await open('/');
    await page.locator('#status[data-state="connected"]').waitFor();
    assert.equal(await page.locator('#status').textContent(), 'Connected');
    const links = page.locator('.demos a');
    assert.deepEqual(
      await links.evaluateAll((anchors) => anchors.map((a) => [a.getAttribute('href'), a.querySelector('strong')!.textContent])),
      [['/chat.html', 'Chat'], ['/echo.html', 'Echo'], ['/clock.html', 'Live clock'], ['/pusher.html', 'Pusher protocol'], ['/task.html', 'Task']],
    );
    for (const [href] of await links.evaluateAll((anchors) => anchors.map((a) => [a.getAttribute('href')]))) {
      assert.equal((await fetch(`${server.url}${href}`)).status, 200, `${href} is served`);
    }
    await page.locator('#facts', { hasText: 'ready' }).waitFor();
    assert.equal(await page.locator('#facts').textContent(), 'Broker: embedded, in memory (one process); ready.');
    await screenshot(page, 'index');
  });

  test('echo: your messages and the server\'s replies appear in order, in two colours', async () => {
    const { page } = await open('/echo.html');
    await page.locator('#status[data-state="connected"]').waitFor();
    for (const text of ['hello', 'Grüße, 世界 <b>not bold</b>']) {
      await page.locator('#text').fill(text);
      await page.locator('#text').press('Enter');
      await page.locator('.msg.theirs', { hasText: `Message text was: ${text}` }).waitFor();
    }
    const messages = await page.locator('#messages li').evaluateAll((items) =>
      items.map((item) => [item.className, item.querySelector('.who')!.textContent, item.lastChild!.textContent]),
    );
    assert.deepEqual(messages, [
      ['msg mine', 'You', 'hello'],
      ['msg theirs', 'Server', 'Message text was: hello'],
      ['msg mine', 'You', 'Grüße, 世界 <b>not bold</b>'],
      ['msg theirs', 'Server', 'Message text was: Grüße, 世界 <b>not bold</b>'],
    ]);
    assert.equal(await page.locator('#messages b').count(), 0, 'text is shown as text, never as markup');
    const colours = await page.locator('#messages li').evaluateAll((items) => items.slice(0, 2).map((item) => getComputedStyle(item).backgroundColor));
    assert.notEqual(colours[0], colours[1]);
    assert.equal(await page.locator('#text').inputValue(), '', 'the box is cleared after sending');
    await screenshot(page, 'echo');
  });

  test('live clock: the scheduled time appears and moves on with every tick', async () => {
    const { page } = await open('/clock.html');
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#ticks li:nth-child(3)').waitFor();
    // Read in one go: with a tick every second, two reads could straddle a tick.
    const { ticks, clock } = await page.evaluate(() => ({
      ticks: Array.from(document.querySelectorAll('#ticks li'), (item) => item.textContent ?? ''),
      clock: document.querySelector('#clock')?.textContent ?? '',
    }));
    for (const tick of ticks) assert.match(tick, /^当前时间: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.equal(new Set(ticks).size, ticks.length, 'each tick once');
    assert.deepEqual([...ticks].sort().reverse(), ticks, 'newest first');
    assert.equal(clock, ticks[0]!.slice(-8));
    assert.match((await page.locator('#cadence').textContent())!, /ticks 1 s apart\.$/);
    await screenshot(page, 'clock');
  });

  test('task: starting the example task shows its progress, then its result', async () => {
    const { page } = await open('/task.html');
    await page.locator('#status[data-state="connected"]').waitFor();
    await page.locator('#task-value').fill('7');
    const seen = page.evaluate(
      () =>
        new Promise<number[]>((resolve) => {
          // Every value the progress bar shows, until the result appears.
          const values: number[] = [];
          const bar = document.getElementById('progress') as HTMLProgressElement;
          new MutationObserver(() => {
            if (values.at(-1) !== bar.value) values.push(bar.value);
            if (!document.getElementById('result')!.hidden) resolve(values);
          }).observe(document.getElementById('run')!, { attributes: true, childList: true, subtree: true, characterData: true });
        }),
    );
    await page.locator('#start').click();
    await page.locator('#task-state[data-state="running"]').waitFor();
    await screenshot(page, 'task-running');
    await page.locator('#task-state[data-state="completed"]').waitFor();
    assert.equal(await page.locator('#result').textContent(), 'Result: 7');
    assert.equal(await page.locator('#progress').evaluate((bar: HTMLProgressElement) => bar.value), 100);
    const values = await seen;
    assert.ok(values.length >= 3, `the bar moved in steps: ${values}`);
    assert.deepEqual([...values].sort((a, b) => a - b), values, 'progress only goes forward');
    assert.equal(await page.locator('#start').isEnabled(), true, 'another task can be started');
    await screenshot(page, 'task-done');
  });

  test('POST /example_task refuses what is not a value to return, or an id that cannot name a channel', async () => {
    for (const body of [{}, { value: '' }, { value: { a: 1 } }, { value: 1, id: 'bad id!' }, { value: 1, id: '123' }]) {
      const response = await fetch(`${server.url}/example_task`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'HERALD_ERR_BAD_REQUEST', JSON.stringify(body));
    }
  });

  test('every page the README\'s "Chat between two tabs" sends a reader to is served', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Chat between two tabs'), readme.indexOf('\n## ', readme.indexOf('## Chat between two tabs') + 1));
    const paths = [...section.matchAll(/<http:\/\/127\.0\.0\.1:8000(\/[^>]*)>/g)].map((match) => match[1]!);
    assert.deepEqual(paths, ['/', '/chat.html']);
    for (const path of paths) assert.equal((await fetch(`${server.url}${path}`)).status, 200, path);
  });

  test('pages and assets are served with their types and a policy that allows only this server', async () => {
    for (const [path, type] of [['/', 'text/html'], ['/echo.html', 'text/html'], ['/assets/echo-page.js', 'text/javascript'], ['/assets/style.css', 'text/css']] as const) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), `${type}; charset=utf-8`, path);
      assert.match(response.headers.get('content-security-policy')!, /^default-src 'self'; connect-src 'self';/, path);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    }
    for (const path of ['/assets/nothing.js', '/assets/..%2F..%2Fpackage.json', '/nothing.html', '/web/dist/index.html']) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'HERALD_ERR_NOT_FOUND', path);
    }
  });
});

describe('demo pages before a build', () => {
  test('a page asked for before web/dist is built gets 503 HERALD_ERR_PAGES_NOT_BUILT saying how to build it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'herald-web-'));
    const server = await startHerald({}, (herald) => demoPages(herald, empty));
    try {
      for (const path of ['/', '/chat.html', '/assets/chat-page.js']) {
        const response = await fetch(`${server.url}${path}`);
        assert.equal(response.status, 503, path);
        assert.deepEqual(await response.json(), {
          ok: false,
          error: { code: 'HERALD_ERR_PAGES_NOT_BUILT', message: 'The demo pages are not built: run npm run build:web (npm start does it for you)' },
        });
      }
    } finally {
      await server.close();
      await rm(empty, { recursive: true });
    }
  });
});

// A restart of a server with the embedded broker loses every channel's history: the channels
// start a new epoch, offsets from 1 again. The pages must notice, start over and keep going.
describe('demo pages across a restart of a server with the embedded broker', () => {
  const env = { HERALD_CLOCK_INTERVAL_MS: '1000' };
  let browser: Browser;
  let server: HeraldProcess;
  const pages: WatchedPage[] = [];
  const open = async (path: string): Promise<WatchedPage> => {
    const watched = await openPage(browser, `${server.url}${path}`);
    pages.push(watched);
    return watched;
  };
  const restart = async (reconnecting: WatchedPage['page'][]): Promise<void> => {
    const port = new URL(server.url).port;
    await server.stop();
    for (const page of reconnecting) await page.locator('#status[data-state="reconnecting"]').waitFor();
    server = await spawnHerald({ ...env, PORT: port });
  };

  before(async () => {
    await buildWeb();
    [browser, server] = await Promise.all([launchBrowser(), spawnHerald(env)]);
  });
  after(async () => {
    for (const { errors, outsideRequests } of pages) {
      assert.deepEqual(errors, [], 'no script errors on any page');
      assert.deepEqual(outsideRequests, [], 'no request leaves the server');
    }
    await browser?.close();
    await server?.stop();
  });

  test('the live clock keeps moving after a restart, the new ticks on top, and says the old ones were lost', async () => {
    const { page } = await open('/clock.html');
    await page.locator('#ticks li:nth-child(4)').waitFor();
    const before = await page.locator('#ticks li').allTextContents();
    assert.equal(await page.locator('#clock-notice').isHidden(), true);

    await restart([page]);
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.locator('#clock-notice', { hasText: 'The server restarted and lost the earlier ticks: showing its ticks since.' }).waitFor();
    // Two ticks of the new server on top, each later than every tick before the restart.
    await page.waitForFunction((old) => {
      const shown = Array.from(document.querySelectorAll('#ticks li'), (li) => li.textContent!);
      return shown.slice(0, 2).every((tick) => !old.includes(tick) && tick > old[0]!);
    }, before, { timeout: 15_000 });
    const shownAt = await page.locator('#clock').textContent();
    await page.waitForFunction((time) => document.getElementById('clock')!.textContent !== time, shownAt, { timeout: 15_000 });
    const after = await page.locator('#ticks li').allTextContents();
    assert.equal(new Set(after).size, after.length, 'each tick once');
    assert.deepEqual([...after].sort().reverse(), after, 'newest first, across the restart');
    assert.equal(await page.locator('#clock').textContent(), after[0]!.slice(-8));
    await screenshot(page, 'clock-after-restart');
  });

  test('the index says the server is out of reach while its pill says reconnecting, and ready again after', async () => {
    const { page } = await open('/');
    await page.locator('#facts', { hasText: 'ready' }).waitFor();
    assert.equal(await page.locator('#facts').textContent(), 'Broker: embedded, in memory (one process); ready.');
    const port = new URL(server.url).port;
    await server.stop();
    await page.locator('#status[data-state="reconnecting"]').waitFor();
    assert.equal(await page.locator('#status').textContent(), 'Reconnecting…');
    assert.equal(await page.locator('#facts').textContent(), 'Broker: embedded, in memory (one process); out of reach: reconnecting…');
    await screenshot(page, 'index-reconnecting');
    server = await spawnHerald({ ...env, PORT: port });
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await page.locator('#facts', { hasText: 'ready' }).waitFor();
    assert.equal(await page.locator('#facts').textContent(), 'Broker: embedded, in memory (one process); ready.');
  });

  test('chat: no connection state before joining; a restart that lost the room and the inboxes says so and carries on, each message once', async () => {
    const { page } = await open('/chat.html');
    await page.locator('#join').waitFor();
    assert.equal(await page.locator('#status').isHidden(), true, 'nothing connects before a name is chosen');
    assert.equal(await page.locator('#status').textContent(), '');
    await screenshot(page, 'chat-before-joining');
    const enter = async (chatter: WatchedPage['page'], name: string): Promise<void> => {
      await chatter.locator('#name').fill(name);
      await chatter.locator('#enter').click();
      await chatter.locator('#status[data-state="connected"]').waitFor();
      assert.equal(await chatter.locator('#status').textContent(), 'Connected');
    };
    const say = async (chatter: WatchedPage['page'], text: string, to = ''): Promise<void> => {
      await chatter.locator('#recipient').selectOption(to);
      await chatter.locator('#text').fill(text);
      await chatter.locator('#send').click();
      await chatter.locator('.msg.mine:not(.pending)', { hasText: text }).waitFor();
    };
    await enter(page, 'ada');
    const { page: bob } = await open('/chat.html');
    await enter(bob, 'bob');
    await bob.locator('#people button[data-user="ada"]').waitFor();
    await say(bob, 'private before', 'ada');
    await page.locator('.msg.private.theirs', { hasText: 'private before' }).waitFor();
    await say(page, 'before the restart');

    await restart([page, bob]);
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await bob.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    const roomLost = 'Reconnected, but the server lost the room’s history: showing what it has now.';
    const inboxLost = 'Reconnected, but the server lost your private messages’ history: showing those it has now.';
    await page.locator('.msg.notice', { hasText: roomLost }).waitFor();
    await page.locator('.msg.notice', { hasText: inboxLost }).waitFor();
    await bob.locator('#people button[data-user="ada"]').waitFor();
    await say(bob, 'private after', 'ada');
    await page.locator('.msg.private.theirs', { hasText: 'private after' }).waitFor();
    await say(page, 'after the restart');
    const items = await page.locator('#messages .msg').evaluateAll((list) => list.map((item) => [item.className.includes('notice') ? 'notice' : item.querySelector('.who')!.textContent, item.lastChild!.textContent]));
    assert.deepEqual(
      items.filter(([who]) => who !== 'notice'),
      [['bob → you (private)', 'private before'], ['ada', 'before the restart'], ['bob → you (private)', 'private after'], ['ada', 'after the restart']],
      'each message once',
    );
    const notices = items.filter(([who, text]) => who === 'notice' && !/ (joined|left)$/.test(text!)).map(([, text]) => text);
    assert.deepEqual(notices.sort(), [inboxLost, roomLost].sort());
    await screenshot(page, 'chat-history-lost');
  });
});
