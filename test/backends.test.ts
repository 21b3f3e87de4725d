import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Herald } from '../client/node.ts';
import { includedBlocks, repoFile } from './support/deploy-files.ts';
import { substitute } from './support/nginx.ts';
import { REDIS_URL, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TEST_SECRET } from './support/tokens.ts';

const run = promisify(execFile);
/** Debian's python3, with python3-redis and python3-jwt (.ci/run installs them). */
const PYTHON = '/usr/bin/python3';
const API_KEY = 'backend-test-key';
const EXAMPLES = ['examples/python/mint_token.py', 'examples/python/publish_http.py', 'examples/python/publish_redis.py'];
const example = (name: string): string => fileURLToPath(new URL(`../examples/python/${name}`, import.meta.url));

/** The `<!-- run: name -->` shell block of docs/backends.md. */
async function shellBlock(name: string): Promise<string> {
  const doc = await repoFile('docs/backends.md');
  const match = new RegExp(`<!-- run: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n`).exec(doc);
  assert.ok(match !== null, `docs/backends.md has a "${name}" block`);
  return match[1]!;
}

describe('docs/backends.md: Python and the shell against a live Herald', () => {
  const prefix = uniquePrefix();
  let server: RunningHerald;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    server = await startHerald({ redisUrl: REDIS_URL, redisPrefix: prefix, apiKey: API_KEY, jwtSecret: TEST_SECRET, allowAnonymous: true });
    env = { ...process.env, HERALD_URL: server.url, HERALD_API_KEY: API_KEY, REDIS_URL, HERALD_REDIS_PREFIX: prefix, HERALD_JWT_SECRET: TEST_SECRET };
  });
  after(() => server.close());

  /** An SDK client subscribed to `channel`; `drain()` waits for a marker published after everything and returns what came before it. */
  async function listen(channel: string) {
    const client = new Herald(`${server.wsUrl}/connect`).connect();
    const received: unknown[] = [];
    await client.subscribe(channel, (data) => received.push(data)).ready;
    return {
      async drain(): Promise<unknown[]> {
        await server.herald.publish(channel, 'end of test');
        await waitFor(() => received.includes('end of test'), 5000, 'the end marker');
        client.close();
        return received.slice(0, -1);
      },
    };
  }

  test('shows the Python examples verbatim', async () => {
    const blocks = await includedBlocks('docs/backends.md');
    assert.deepEqual([...blocks.keys()].sort(), EXAMPLES);
    for (const [path, shown] of blocks) assert.equal(shown, await repoFile(path), path);
  });

  test('curl publishes once, however often it is retried with the same idempotency key', async () => {
    const orders = await listen('orders');
    const curl = await shellBlock('curl');
    assert.equal((await run('bash', ['-c', curl], { env })).stdout, '{"ok":true}');
    assert.equal((await run('bash', ['-c', curl], { env })).stdout, '{"ok":true,"duplicate":true}');
    assert.deepEqual(await orders.drain(), [{ id: 42, status: 'shipped' }]);
  });

  test('redis-cli publishes in the wire format', async () => {
    const orders = await listen('orders');
    const command = substitute(await shellBlock('redis-cli'), [['herald:orders', `${prefix}orders`]]);
    assert.equal((await run('bash', ['-c', command], { env })).stdout, '1\n');
    assert.deepEqual(await orders.drain(), [{ id: 42, status: 'packed' }]);
  });

  test('publish_http.py retries a publication whose reply was lost, and it is delivered once', async () => {
    const channel = 'py-http';
    const listener = await listen(channel);
    // A front that passes the first request on to Herald, then drops the connection before the
    // reply: the publication happened, but the client cannot know.
    let requests = 0;
    const lossy: Server = createServer(async (request, response) => {
      const body = await new Promise<string>((resolve) => {
        let text = '';
        request.on('data', (chunk: Buffer) => (text += chunk.toString()));
        request.on('end', () => resolve(text));
      });
      const forwarded = await fetch(`${server.url}${request.url}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: request.headers.authorization ?? '' }, body });
      const reply = await forwarded.text();
      if (requests++ === 0) return request.socket.destroy();
      response.writeHead(forwarded.status, { 'content-type': 'application/json' }).end(reply);
    });
    lossy.listen(0, '127.0.0.1');
    await once(lossy, 'listening');
    try {
      const url = `http://127.0.0.1:${(lossy.address() as { port: number }).port}`;
      const { stdout } = await run(PYTHON, [example('publish_http.py'), channel, '{"id": 7}', 'order-7'], { env: { ...env, HERALD_URL: url } });
      assert.equal(stdout, '{"ok": true, "duplicate": true}\n');
      assert.equal(requests, 2);
    } finally {
      lossy.close();
    }
    // Straight to Herald, once more with the same key, and with a fresh one.
    assert.equal((await run(PYTHON, [example('publish_http.py'), channel, '{"id": 7}', 'order-7'], { env })).stdout, '{"ok": true, "duplicate": true}\n');
    assert.equal((await run(PYTHON, [example('publish_http.py'), channel, '"42"'], { env })).stdout, '{"ok": true}\n');
    assert.deepEqual(await listener.drain(), [{ id: 7 }, '42']);
  });

  test('publish_redis.py publishes in the wire format: every JSON value arrives as it is', async () => {
    const channel = 'py-redis';
    const listener = await listen(channel);
    for (const data of ['"42"', '42', '{"id": 42, "note": "café"}']) {
      assert.equal((await run(PYTHON, [example('publish_redis.py'), channel, data], { env })).stdout, '1\n');
    }
    assert.deepEqual(await listener.drain(), ['42', 42, { id: 42, note: 'café' }]);
  });

  test('mint_token.py mints a token Herald accepts for that user, and an expired one it refuses', async () => {
    const token = (await run(PYTHON, [example('mint_token.py'), 'ada'], { env })).stdout.trim();
    const client = new Herald(`${server.wsUrl}/connect`, { token });
    const connected = new Promise<{ user: string | null }>((resolve) => client.on('connected', resolve));
    client.connect();
    assert.equal((await connected).user, 'ada');
    client.close();

    const expired = (await run(PYTHON, [example('mint_token.py'), 'ada', '-10'], { env })).stdout.trim();
    const refused = new Herald(`${server.wsUrl}/connect`, { token: expired });
    const closed = new Promise<{ code: number; reason: string; reconnect: boolean }>((resolve) => refused.on('disconnected', resolve));
    refused.connect();
    assert.deepEqual(await closed, { code: 1008, reason: 'Token expired', reconnect: false });
    refused.close();
  });
});
