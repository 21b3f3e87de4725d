import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { PrivateRedis } from './support/redis-server.ts';
import { REDIS_URL, redisClient, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Handshakes that never become sockets — refused by the WebSocket rules, dropped by the client
// right after the request, or stuck behind a frozen Redis — must leave nothing behind in the
// process: no connection, no channel, no Redis subscription, no file descriptor, no heap.

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(path: string, headers: Record<string, string | undefined> = {}, method = 'GET'): string {
  const all: Record<string, string | undefined> = {
    Host: 'x',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': KEY,
    ...headers,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== undefined).map(([name, value]) => `${name}: ${value}`);
  return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends `request` on a fresh TCP connection; resolves with all the server sent once it closed. */
function exchange(url: string, request: string, options: { fin?: boolean; timeoutMs?: number } = {}): Promise<{ text: string; ms: number }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let started = Date.now();
    const socket = connect(Number(port), '127.0.0.1', () => {
      // Timed from the request's departure: on a loaded machine connecting alone can take a while.
      socket.write(request, () => (started = Date.now()));
      if (options.fin === true) socket.end();
    });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms to ${request.split('\r\n')[0]}; got ${JSON.stringify(text)}`));
    }, options.timeoutMs ?? 10_000);
    socket.on('data', (chunk) => (text += chunk.toString()));
    // A 101 keeps the socket open; a FIN-then-accepted socket is closed by the server itself.
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.on('error', () => {});
  });
}

function status(text: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
}

function body(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

interface Footprint {
  connections: number;
  channels: number;
  redisChannels: string[];
  fds: number;
}

/** GET as JSON on a connection of its own, closed after the answer, so the probe holds no descriptor. */
function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve(JSON.parse(text) as T));
    }).on('error', reject);
  });
}

async function footprint(server: HeraldProcess, redis: Redis, prefix: string): Promise<Footprint> {
  const stats = await getJson<{ connections: number; channels: number }>(`${server.url}/api/stats`);
  const redisChannels = ((await redis.pubsub('CHANNELS', `${prefix}*`)) as string[]).sort();
  return { connections: stats.connections, channels: stats.channels, redisChannels, fds: readdirSync(`/proc/${server.child.pid}/fd`).length };
}

async function heapUsed(server: HeraldProcess): Promise<number> {
  return (await getJson<{ heapUsed: number }>(`${server.url}/test/heap`)).heapUsed;
}

/** Waits until the footprint equals `expected` (closes and UNSUBSCRIBEs are asynchronous). */
async function settlesTo(server: HeraldProcess, redis: Redis, prefix: string, expected: Footprint, what: string): Promise<void> {
  let last: Footprint | undefined;
  try {
    await waitFor(async () => {
      last = await footprint(server, redis, prefix);
      return JSON.stringify(last) === JSON.stringify(expected);
    }, 15_000, what);
  } catch {
    assert.deepEqual(last, expected, what);
  }
}

describe('rejected and dropped handshakes leak nothing', () => {
  const prefix = uniquePrefix();
  let server: HeraldProcess;
  let redis: Redis;
  before(async () => {
    redis = redisClient();
    server = await spawnHerald(
      { REDIS_URL, HERALD_REDIS_PREFIX: prefix, HERALD_MAX_CONNECTIONS_PER_IP: '0', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc` },
      'test/support/leak-probe-server.ts',
    );
  });
  after(async () => {
    await server?.stop();
    redis?.disconnect();
  });

  /** The kinds of bad handshake, each with the exact answer it gets; `fin` is a good one dropped at once. */
  const kinds = [
    { name: 'missing key', request: (path: string) => handshake(path, { 'Sec-WebSocket-Key': undefined }), status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' },
    { name: 'malformed key', request: (path: string) => handshake(path, { 'Sec-WebSocket-Key': 'not-a-key' }), status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' },
    { name: 'version 12', request: (path: string) => handshake(path, { 'Sec-WebSocket-Version': '12' }), status: 426, message: 'Unsupported WebSocket version: this server speaks version 13' },
    { name: 'no version', request: (path: string) => handshake(path, { 'Sec-WebSocket-Version': undefined }), status: 426, message: 'Unsupported WebSocket version: this server speaks version 13' },
    { name: 'Upgrade: foo', request: (path: string) => handshake(path, { Upgrade: 'foo' }), status: 400, message: 'The Upgrade header must be "websocket"' },
    { name: 'POST', request: (path: string) => handshake(path, { 'Content-Length': '0' }, 'POST'), status: 400, message: 'A WebSocket handshake must be a GET request, not POST' },
    { name: 'FIN after the request', request: (path: string) => handshake(path), fin: true, status: 0, message: '' },
    // Refused by ws itself after the route ran (Herald leaves this check to ws): ws answers in text.
    { name: 'bad subprotocol list', request: (path: string) => handshake(path, { 'Sec-WebSocket-Protocol': 'a,,b' }), status: 400, message: 'Invalid Sec-WebSocket-Protocol header' },
  ];
  // Routes that subscribe (a channel of their own for /ws, a shared room for /broadcast, a user
  // inbox for /connect) so that a stranded connection would show up in Redis.
  // Every kind meets every route: request i is kind i % kinds, route (i / kinds) % 4.
  const paths = (i: number): string => [`/ws/leak-${i}`, `/broadcast/${i}`, '/connect', `/ws/chat/`][Math.floor(i / kinds.length) % 4]!;

  async function storm(count: number, offset: number): Promise<Array<{ kind: (typeof kinds)[number]; text: string }>> {
    const answers: Array<{ kind: (typeof kinds)[number]; text: string }> = [];
    for (let start = 0; start < count; start += 50) {
      const batch = [];
      for (let i = start; i < Math.min(count, start + 50); i++) {
        const kind = kinds[i % kinds.length]!;
        batch.push(exchange(server.url, kind.request(paths(offset + i)), { fin: kind.fin === true }).then(({ text }) => answers.push({ kind, text })));
      }
      await Promise.all(batch);
    }
    return answers;
  }

  test('1,000 bad or dropped handshakes: exact answers, and stats, Redis channels, fds and heap stay where they were', async () => {
    const bystander = await TestClient.open(`${server.wsUrl}/ws/leak-bystander`);
    await storm(350, 100_000); // warm-up: code paths compiled, pools and buffers allocated
    const before = await footprint(server, redis, prefix);
    assert.equal(before.connections, 1);
    assert.ok(before.redisChannels.includes(`${prefix}leak-bystander`));
    const heapBefore = await heapUsed(server);

    const answers = await storm(1000, 0);

    await settlesTo(server, redis, prefix, before, 'the footprint after 1,000 bad handshakes');
    const heapAfter = await heapUsed(server);
    // Measured: without the leak the heap moves by 0.2-0.3 MB over the storm; the stranded
    // connections of 1,000 handshakes add about 1.4 MB more.
    assert.ok(heapAfter - heapBefore < 800 * 1024, `heap grew by ${((heapAfter - heapBefore) / 1024).toFixed(0)} KB`);

    assert.equal(answers.length, 1000);
    for (const { kind, text } of answers) {
      if (kind.fin === true) {
        // The request may be answered before the FIN is seen (101 then the close) or not at all.
        assert.ok(text === '' || status(text) === 101, `${kind.name}: ${JSON.stringify(text.slice(0, 80))}`);
        continue;
      }
      assert.equal(status(text), kind.status, `${kind.name}: ${JSON.stringify(text.slice(0, 120))}`);
      if (kind.name === 'bad subprotocol list') {
        assert.equal(text.slice(text.indexOf('\r\n\r\n') + 4), kind.message);
        continue;
      }
      const code = kind.status === 426 ? 'HERALD_ERR_UNSUPPORTED_WEBSOCKET_VERSION' : 'HERALD_ERR_BAD_HANDSHAKE';
      assert.deepEqual(body(text), { ok: false, error: { code, message: kind.message } }, kind.name);
      if (kind.status === 426) assert.match(text, /\r\nSec-WebSocket-Version: 13\r\n/);
    }

    // The process still serves: the bystander hears a publication.
    await fetch(`${server.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'leak-bystander', data: 'still here' }) });
    assert.equal(await bystander.next(), 'still here');
    await bystander.close();
  });
});

describe('handshake timeout while Redis is frozen', () => {
  const prefix = uniquePrefix();
  const TIMEOUT_MS = 1000;
  let redis: PrivateRedis;
  let server: HeraldProcess;
  let admin: Redis;
  before(async () => {
    redis = await PrivateRedis.start();
    admin = new (await import('ioredis')).Redis(redis.url);
    server = await spawnHerald({ REDIS_URL: redis.url, HERALD_REDIS_PREFIX: prefix, HERALD_HANDSHAKE_TIMEOUT_MS: String(TIMEOUT_MS), HERALD_MAX_CONNECTIONS_PER_IP: '0' });
  });
  after(async () => {
    await server?.stop();
    admin?.disconnect();
    await redis?.kill();
  });

  test('300 handshakes get 503 HERALD_ERR_HANDSHAKE_TIMEOUT at the timeout, and nothing is left once Redis is back', async () => {
    const before = await footprint(server, admin, prefix);
    // Long enough that an answer at the timeout, even on a loaded machine, cannot be Redis's.
    const PAUSE_MS = 12_000;
    // Every client, the server's subscriber connection included, waits until the pause ends.
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL');
    const paused = Date.now();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => exchange(server.url, handshake(`/ws/frozen-${i}`), { timeoutMs: PAUSE_MS })));
    assert.ok(Date.now() - paused < PAUSE_MS - 1000, 'the answers came while Redis was still frozen');
    for (const { text, ms } of answers) {
      assert.equal(status(text), 503, JSON.stringify(text.slice(0, 120)));
      assert.deepEqual(body(text), { ok: false, error: { code: 'HERALD_ERR_HANDSHAKE_TIMEOUT', message: 'The connection could not be set up in time: try again later' } });
      assert.ok(ms >= TIMEOUT_MS - 20 && ms < TIMEOUT_MS + 6000, `answered after ${ms} ms`);
    }
    // Redis comes back: the SUBSCRIBEs queued meanwhile are undone, nothing stays subscribed.
    await settlesTo(server, admin, prefix, before, 'the footprint once Redis is back');
    const stats = await getJson<{ refusals: Record<string, number> }>(`${server.url}/api/stats`);
    assert.equal(stats.refusals['handshake-timeout'], 300);
    // And a new handshake is served again.
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    client.send('back');
    assert.equal(await client.next(), 'Message text was: back');
    await client.close();
  });
});
