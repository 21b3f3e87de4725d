import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { FrameFuzzer } from './support/frame-fuzzer.ts';
import { postJson, spawnHerald, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const WORKERS = 12;
const MAX_FRAME_BYTES = 16 * 1024;
const DEADLINE_MS = 90_000;

/**
 * The routes under fuzz. `/connect` joins the list by itself once the server has it (the probe
 * below), so the same fuzzer covers the client protocol when it lands.
 */
const SEED_ROUTES = [
  '/echo',
  '/echo/secure?username=fz',
  '/ws/fuzz-a',
  '/ws/4242',
  '/connect_chat?user_code=fz1',
  '/chat?username=fz',
  '/broadcast/9',
  '/ws/chat/',
  '/echo/timed',
  '/async_task/',
];

/** Routes that end the socket themselves (1000) once they have answered. */
const SELF_CLOSING = new Set(['/async_task/']);

interface SocketResult {
  route: string;
  sent: number;
  /** Text frames sent on /echo before the socket ended: each must have been answered. */
  echoExpected: number;
  received: number;
  closeCode: number;
  expectedClose: number | undefined;
}

describe(`fuzzing the socket routes with ${FRAMES} frames (FUZZ_SEED=${SEED})`, () => {
  let server: HeraldProcess;
  before(async () => {
    server = await spawnHerald({
      HERALD_DEMO_TOKEN: 'fuzz-demo',
      HERALD_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      // The flood limit has its own test; here every frame must reach the route's parser.
      HERALD_MAX_MESSAGES_PER_SECOND: '0',
    });
  });
  after(() => server.stop());

  test('the server answers or closes every offending socket, and a well-behaved client misses nothing', async () => {
    const routes = [...SEED_ROUTES];
    if (await serves(server, '/connect')) routes.push('/connect');

    const watcher = await TestClient.open(`${server.wsUrl}/ws/fuzz-watch`);
    watcher.send('subscribed?');
    assert.equal(await watcher.next(), 'subscribed?');
    let published = 0;
    let fuzzing = true;
    const publishing = (async () => {
      while (fuzzing || published < 50) {
        const reply = await postJson(`${server.url}/api/publish`, { channel: 'fuzz-watch', data: { n: published } });
        assert.equal(reply.status, 200);
        published++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const fuzzer = new FrameFuzzer({ seed: SEED, maxFrameBytes: MAX_FRAME_BYTES });
    const deadline = Date.now() + DEADLINE_MS;
    let remaining = FRAMES;
    const results: SocketResult[] = [];
    let socketNumber = 0;
    const worker = async (): Promise<void> => {
      while (remaining > 0 && Date.now() < deadline) {
        const route = routes[socketNumber++ % routes.length]!;
        const batch = Math.min(remaining, 200 + (socketNumber % 7) * 100);
        remaining -= batch;
        const result = await fuzzSocket(server.wsUrl + route, route, fuzzer, batch);
        remaining += batch - result.sent; // a closing frame ends the batch early
        results.push(result);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    fuzzing = false;
    await publishing;

    const sent = results.reduce((sum, result) => sum + result.sent, 0);
    assert.ok(sent >= FRAMES, `sent ${sent} frames before the deadline`);
    for (const result of results) {
      const context = `${result.route}: ${JSON.stringify(result)} (FUZZ_SEED=${SEED})`;
      if (SELF_CLOSING.has(result.route) && result.closeCode === 1000) continue;
      assert.equal(result.closeCode, result.expectedClose ?? 1000, context);
      if (result.route === '/echo') assert.equal(result.received, result.echoExpected, context);
    }
    // The client connected all along received every publication, in order, exactly once.
    const received = (await watcher.take(published, 10_000)).map((text) => (JSON.parse(text) as { n: number }).n);
    assert.deepEqual(received, Array.from({ length: published }, (_, n) => n));
    assert.equal(await watcher.silentFor(100), true);
    await watcher.close();

    // Still up and serving every route.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const echo = await TestClient.open(`${server.wsUrl}/echo`);
    echo.send('after the storm');
    assert.equal(await echo.next(), 'Message text was: after the storm');
    await echo.close();
    assert.doesNotMatch(server.output(), /"level":(50|60)/, 'no error or fatal log line');
  });
});

/** Opens `url`, sends `count` fuzz frames (stopping early after one the server must close on). */
async function fuzzSocket(url: string, route: string, fuzzer: FrameFuzzer, count: number): Promise<SocketResult> {
  const ws = new WebSocket(url, { headers: { cookie: 'token=fuzz-demo' }, maxPayload: 256 * 1024 * 1024 });
  const result: SocketResult = { route, sent: 0, echoExpected: 0, received: 0, closeCode: 0, expectedClose: undefined };
  ws.on('message', () => result.received++);
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.once('close', (code) => ((result.closeCode = code), resolve())));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (_request, response) => reject(new Error(`${route}: handshake refused ${response.statusCode}`)));
  });
  for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) {
    const frame = fuzzer.next();
    result.sent++;
    // Wait for every 100th frame to be written, so the fuzzer never buffers without bound.
    const written = new Promise<void>((resolve) => ws.send(frame.data, { binary: frame.binary }, () => resolve()));
    if (frame.closeCode !== undefined) {
      result.expectedClose = frame.closeCode;
      break;
    }
    if (route === '/echo') result.echoExpected++;
    if (i % 100 === 99) await written;
  }
  if (result.expectedClose === undefined) ws.close(1000);
  const watchdog = setTimeout(() => console.error('fuzz socket has not closed after 10 s:', JSON.stringify(result), ws.readyState, ws.bufferedAmount), 10_000);
  await closed;
  clearTimeout(watchdog);
  return result;
}

async function serves(server: HeraldProcess, path: string): Promise<boolean> {
  try {
    const client = await TestClient.open(`${server.wsUrl}${path}`);
    await client.close();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}
