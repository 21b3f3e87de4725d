import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { runHerald, servedUrl, startHeraldCommand, type HeraldCommand } from './support/cli.ts';
import { REDIS_URL, uniquePrefix } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { TestClient } from './support/ws-client.ts';
import { TEST_SECRET } from './support/tokens.ts';

// The `herald` command as installed: the built dist/src/cli.js run by node, its exact output and
// exit codes.
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SERVE = ['serve', '--port', '0', '--host', '127.0.0.1'];
const running: HeraldCommand[] = [];
const temporary = mkdtempSync(join(tmpdir(), 'herald-cli-'));
after(async () => {
  await Promise.all(running.map((server) => server.stop()));
  rmSync(temporary, { recursive: true, force: true });
});

async function serve(args: string[], env: Record<string, string> = {}): Promise<string> {
  const server = startHeraldCommand([...SERVE, ...args], { env });
  running.push(server);
  return servedUrl(server);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('herald command', () => {
  test('--version prints the package version; --help lists the commands; no command is a usage error', async () => {
    assert.deepEqual(await runHerald(['--version']), { code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await runHerald(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['serve', 'worker', 'publish', 'token', 'check']) assert.match(help.stdout, new RegExp(`^  ${command} +\\S`, 'm'));
    const none = await runHerald([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^herald: no command given\n/);
    const unknown = await runHerald(['srve']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^herald: unknown command "srve"\n/);
  });

  test('every command has --help, and an unknown option is a usage error (exit 2)', async () => {
    for (const command of ['serve', 'worker', 'publish', 'token', 'check']) {
      const help = await runHerald([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^Usage: herald ${command}`), command);
      assert.match(help.stdout, /^ {2}-h, --help +Show this help\.$/m, command);
    }
    const bad = await runHerald(['serve', '--prot', '1']);
    assert.deepEqual(bad, { code: 2, stdout: '', stderr: "herald serve: Unknown option '--prot'\n(herald serve --help lists the options)\n" });
  });

  test('serve: --port and --host are used, a bad --port stops it with exit 2, SIGTERM exits 0', async () => {
    const server = startHeraldCommand([...SERVE, '--no-demos']);
    const url = await servedUrl(server);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.deepEqual(await runHerald(['serve', '--port', '70000']), {
      code: 2,
      stdout: '',
      stderr: 'herald serve: --port must be a whole number from 0 to 65535, got 70000\n',
    });
  });

  test('publish: prints the reply and exits 0; data is JSON when it parses, else a string', async () => {
    const url = await serve(['--no-demos']);
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

    const keyed = await serve(['--no-demos'], { HERALD_API_KEY: 'the-right-key' });
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
    const redisDown = await serve(['--no-demos', '--redis-url', `redis://127.0.0.1:${proxy.port}`], { HERALD_REDIS_PREFIX: uniquePrefix() });
    await proxy.close();
    const unavailable = await runHerald(['publish', 'news', 'x', '--url', redisDown]);
    assert.equal(unavailable.code, 1);
    assert.match(unavailable.stderr, /^herald publish: 503 the server cannot reach its broker \(Redis\) or is shutting down; nothing was published: HERALD_ERR_BROKER_UNAVAILABLE: /);
    assert.equal((await runHerald(['publish', 'only-a-channel'])).code, 2);
  });

  test('token: an HS256 JWT for --sub with --ttl and --claims, signed with the configured secret', async () => {
    const minted = await runHerald(['token', '--sub', 'ada', '--ttl', '15m', '--claims', '{"role":"staff"}'], { env: { HERALD_JWT_SECRET: TEST_SECRET } });
    assert.equal(minted.code, 0, minted.stderr);
    const { payload, protectedHeader } = await jwtVerify(minted.stdout.trim(), new TextEncoder().encode(TEST_SECRET));
    assert.equal(protectedHeader.alg, 'HS256');
    assert.equal(payload.sub, 'ada');
    assert.equal(payload.role, 'staff');
    assert.equal(payload.exp! - payload.iat!, 15 * 60);

    const secretFile = join(temporary, 'jwt-secret');
    writeFileSync(secretFile, `${TEST_SECRET}\n`);
    const fromFile = await runHerald(['token', '--sub', 'bob'], { env: { HERALD_JWT_SECRET_FILE: secretFile } });
    const verified = await jwtVerify(fromFile.stdout.trim(), new TextEncoder().encode(TEST_SECRET));
    assert.equal(verified.payload.exp! - verified.payload.iat!, 3600);

    const url = await serve(['--no-demos'], { HERALD_JWT_SECRET: TEST_SECRET });
    const socket = await TestClient.open(`${url.replace('http', 'ws')}/connect?token=${fromFile.stdout.trim()}`);
    assert.match(await socket.next(), /"user":"bob"/);
    socket.ws.close();

    assert.deepEqual(await runHerald(['token', '--sub', 'ada']), {
      code: 2,
      stdout: '',
      stderr: 'herald token: herald token needs the HS256 secret: set HERALD_JWT_SECRET or HERALD_JWT_SECRET_FILE, or jwtSecret in the configuration file\n',
    });
    assert.deepEqual(await runHerald(['token'], { env: { HERALD_JWT_SECRET: TEST_SECRET } }), { code: 2, stdout: '', stderr: 'herald token: herald token needs --sub <user>\n' });
    const badTtl = await runHerald(['token', '--sub', 'a', '--ttl', 'soon'], { env: { HERALD_JWT_SECRET: TEST_SECRET } });
    assert.deepEqual(badTtl, { code: 2, stdout: '', stderr: 'herald token: --ttl must be a time span such as 30s, 15m, 1h or 7d, got "soon"\n' });
  });

  test('check: exit 0 with a summary; a bad setting or an unreachable Redis names the problem', async () => {
    const memory = await runHerald(['check'], { cwd: temporary });
    assert.deepEqual(memory, { code: 0, stdout: 'configuration: ok (no configuration file)\nbroker: memory (REDIS_URL not set)\ndemos: on; port 8000 on 0.0.0.0\n', stderr: '' });
    const redis = await runHerald(['check', '--redis-url', REDIS_URL], { cwd: temporary, env: { HERALD_DEMOS: 'false', PORT: '9000' } });
    assert.equal(redis.code, 0, redis.stderr);
    assert.equal(redis.stdout, `configuration: ok (no configuration file)\nbroker: redis at ${new URL(REDIS_URL).host}: ok\ndemos: off; port 9000 on 0.0.0.0\n`);
    const port = await closedPort();
    const down = await runHerald(['check'], { cwd: temporary, env: { REDIS_URL: `redis://user:pw@127.0.0.1:${port}` } });
    assert.equal(down.code, 1);
    assert.equal(down.stderr, `herald check: cannot reach Redis at 127.0.0.1:${port}: ECONNREFUSED\n`);
    assert.deepEqual(await runHerald(['check'], { cwd: temporary, env: { HERALD_MAX_FRAME_BYTES: 'lots' } }), {
      code: 2,
      stdout: '',
      stderr: 'herald check: HERALD_MAX_FRAME_BYTES must be a whole number from 1 to 268435456, got "lots"\n',
    });
    assert.deepEqual(await runHerald(['check'], { cwd: temporary, env: { HERALD_JWT_PUBLIC_KEY: 'not a key' } }), {
      code: 2,
      stdout: '',
      stderr: 'herald check: jwtPublicKey (HERALD_JWT_PUBLIC_KEY) is not a PEM public key\n',
    });
  });

  test('worker: takes tasks with Redis; without Redis it stops with exit 2 saying so', async () => {
    const worker = startHeraldCommand(['worker'], { env: { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix() } });
    running.push(worker);
    await worker.waitFor(/Herald worker ready \(4 at a time, pid \d+\)/);
    assert.equal(await worker.stop('SIGTERM'), 0);
    const alone = await runHerald(['worker'], { cwd: temporary });
    assert.equal(alone.code, 2);
    assert.equal(alone.stderr, 'herald worker: a worker process needs REDIS_URL: without Redis, tasks run inside the server\n');
  });
});
