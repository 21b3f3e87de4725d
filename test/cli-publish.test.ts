import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closedPort, runHerald, serveOnFreePort, type HeraldCommand } from './support/cli.ts';
import { REDIS_URL, uniquePrefix } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { TestClient } from './support/ws-client.ts';

// `herald publish` from dist/ against real servers.
const running: HeraldCommand[] = [];
after(() => Promise.all(running.map((server) => server.stop())));

describe('herald publish', () => {
  test('publish: prints the reply and exits 0; data is JSON when it parses, else a string', async () => {
    const url = await serveOnFreePort(running, ['--no-demos']);
    const listener = await TestClient.open(`${url.replace('http', 'ws')}/ws/cli-news`);
    const published = await runHerald(['publish', 'cli-news', '{"headline":"hi"}', '--url', url, '--idempotency-key', 'k1']);
    assert.deepEqual(published, { code: 0, stdout: '{"ok":true}\n', stderr: '' });
    assert.equal(await listener.next(), '{"headline":"hi"}');
    const again = await runHerald(['publish', 'cli-news', '{"headline":"hi"}', '--url', url, '--idempotency-key', 'k1']);
    assert.deepEqual(again, { code: 0, stdout: '{"ok":true,"duplicate":true}\n', stderr: '' });
    assert.equal((await runHerald(['publish', 'cli-news', 'plain words', '--url', url])).code, 0);
    assert.equal(await listener.next(), 'plain words');
    assert.equal((await runHerald(['publish', 'cli-news', '42', '--url', url])).code, 0);
    assert.equal(await listener.next(), '42');
    listener.ws.close();
  });

  test('publish: failures exit 1 naming the cause, with the idempotency key to retry with', async () => {
    const port = await closedPort();
    const refused = await runHerald(['publish', 'news', 'x', '--url', `http://127.0.0.1:${port}`, '--idempotency-key', 'retry-me']);
    assert.deepEqual(refused, {
      code: 1,
      stdout: '',
      stderr: `herald publish: no server at http://127.0.0.1:${port} (connection refused)\nRetry safely with --idempotency-key retry-me\n`,
    });
    const generated = await runHerald(['publish', 'news', 'x', '--url', `http://127.0.0.1:${port}`]);
    assert.match(generated.stderr, /\nRetry safely with --idempotency-key [0-9a-f-]{36}\n$/);

    const keyed = await serveOnFreePort(running, ['--no-demos'], { HERALD_API_KEY: 'the-right-key' });
    const unauthorized = await runHerald(['publish', 'news', 'x', '--url', keyed, '--api-key', 'wrong', '--idempotency-key', 'k']);
    assert.equal(unauthorized.code, 1);
    assert.match(unauthorized.stderr, /^herald publish: 401 the API key was refused: HERALD_ERR_UNAUTHORIZED: /);
    const keyless = await runHerald(['publish', 'news', 'x', '--url', keyed]);
    assert.match(keyless.stderr, /^herald publish: 401 the server requires an API key \(--api-key or HERALD_API_KEY\)/);
    const fromEnv = await runHerald(['publish', 'news', 'x', '--url', keyed], { env: { HERALD_API_KEY: 'the-right-key' } });
    assert.deepEqual(fromEnv, { code: 0, stdout: '{"ok":true}\n', stderr: '' });
    const tooLong = await runHerald(['publish', 'x'.repeat(201), 'x', '--url', keyed, '--api-key', 'the-right-key']);
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /^herald publish: 400 the server refused the request as malformed: HERALD_ERR_BAD_REQUEST: /);

    // Redis goes away under a running server: the proxy to it stops accepting and cuts its connections.
    const proxy = await TcpProxy.start(Number(new URL(REDIS_URL).port || 6379));
    const redisDown = await serveOnFreePort(running, ['--no-demos', '--redis-url', `redis://127.0.0.1:${proxy.port}`], { HERALD_REDIS_PREFIX: uniquePrefix() });
    await proxy.close();
    const unavailable = await runHerald(['publish', 'news', 'x', '--url', redisDown]);
    assert.equal(unavailable.code, 1);
    assert.match(unavailable.stderr, /^herald publish: 503 the server cannot reach its broker \(Redis\) or is shutting down; nothing was published: HERALD_ERR_BROKER_UNAVAILABLE: /);
    assert.equal((await runHerald(['publish', 'only-a-channel'])).code, 2);
  });
});
