import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { ReconnectBackoff } from '../../client/backoff.ts';
import { Herald as Client } from '../../client/node.ts';
import { protocolTestEnv } from '../support/protocol-app.ts';
import { postJson, REDIS_URL, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from '../support/servers.ts';
import { SwitchingProxy } from '../support/switching-proxy.ts';
import { TestClient } from '../support/ws-client.ts';

/** Raw sockets on the process that is stopped (DRAIN_SOCKETS to try others). */
const SOCKETS = Number(process.env.DRAIN_SOCKETS ?? 5000);
/** /connect SDK clients on it, behind a balancer that sends reconnects to the other process. */
const SDK_CLIENTS = 50;
const SHUTDOWN_TIMEOUT_MS = 3000;
const DRAIN_MS = 2000;

/**
 * close() ends within the timeout by the process's own clock (100 ms for the last event-loop turns,
 * as in shutdown-budget.test.ts): that is the guarantee. The exit as this test process sees it is a
 * looser check, since the observer is itself busy with thousands of reconnects: the process forces
 * its exit 2 s after the timeout, and a loaded two-core machine (the suite runs three files at once)
 * was seen to add up to 1.5 s more before the exit reached this process's event loop.
 */
function assertShutdownInTime(figure: { exitMs: number; closedInMs: number }): void {
  assert.ok(figure.closedInMs <= SHUTDOWN_TIMEOUT_MS + 100, `close() took ${figure.closedInMs} ms`);
  assert.ok(figure.exitMs < SHUTDOWN_TIMEOUT_MS + 2000 + 2000, `exited after ${figure.exitMs} ms`);
}

function port(server: HeraldProcess): number {
  return Number(new URL(server.url).port);
}

/** The most arrivals within one 100 ms bucket, and over how long they came. */
function peakPer100Ms(arrivals: number[]): { peak: number; spreadMs: number } {
  const buckets = new Map<number, number>();
  for (const at of arrivals) buckets.set(Math.floor(at / 100), (buckets.get(Math.floor(at / 100)) ?? 0) + 1);
  return { peak: Math.max(...buckets.values()), spreadMs: Math.max(...arrivals) - Math.min(...arrivals) };
}

async function openAll(url: string, count: number, onClose: (code: number, reason: string) => void): Promise<WebSocket[]> {
  const sockets: WebSocket[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, () => new WebSocket(url));
    await Promise.all(batch.map((ws) => new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    })));
    for (const ws of batch) ws.once('close', (code, reason) => onClose(code, reason.toString()));
    sockets.push(...batch);
  }
  return sockets;
}

describe('drain at shutdown', () => {
  let other: HeraldProcess;
  const leaving: Record<'drain' | 'nodrain', HeraldProcess | undefined> = { drain: undefined, nodrain: undefined };
  const prefix = uniquePrefix();
  const env = (drainMs: number): Record<string, string> => ({
    ...protocolTestEnv,
    REDIS_URL,
    HERALD_REDIS_PREFIX: prefix,
    HERALD_MAX_CONNECTIONS_PER_IP: '0',
    HERALD_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    HERALD_DRAIN_MS: String(drainMs),
  });
  const figures: Record<string, { peak: number; spreadMs: number; exitMs: number; closedInMs: number }> = {};

  before(async () => {
    [other, leaving.drain, leaving.nodrain] = await Promise.all([
      spawnHerald(env(DRAIN_MS), 'test/support/drain-server.ts'),
      spawnHerald(env(DRAIN_MS), 'test/support/drain-server.ts'),
      spawnHerald(env(0), 'test/support/drain-server.ts'),
    ]);
  });
  after(async () => {
    console.log(`drain figures (${SOCKETS} sockets): ${JSON.stringify(figures)}`);
    await Promise.all([other?.stop(), leaving.drain?.stop(), leaving.nodrain?.stop()]);
  });

  /**
   * SOCKETS raw sockets and SDK_CLIENTS SDK clients on `server`, SIGTERM: each raw socket reconnects
   * to the other process at once on its close; the SDK clients come back through the balancer.
   * Publications are made on the other process meanwhile.
   */
  async function stopUnderLoad(kind: 'drain' | 'nodrain'): Promise<{ peak: number; spreadMs: number; exitMs: number; closedInMs: number; waits: number[] }> {
    const server = leaving[kind]!;
    const closes: Array<{ code: number; reason: string }> = [];
    const moved: WebSocket[] = [];
    let reopened = 0;
    const raw = await openAll(`${server.wsUrl}/arrive`, SOCKETS, (code, reason) => {
      closes.push({ code, reason });
      const ws = new WebSocket(`${other.wsUrl}/arrive`);
      ws.once('open', () => reopened++);
      ws.on('error', () => {});
      moved.push(ws);
    });
    const balancer = new SwitchingProxy(port(server));
    const clients: Client[] = [];
    const received: number[][] = [];
    const waits: number[] = [];
    const channel = `stream:drain-${kind}`;
    try {
      const balancerPort = await balancer.listen();
      let subscribed = 0;
      for (let i = 0; i < SDK_CLIENTS; i++) {
        const client = new Client(`ws://127.0.0.1:${balancerPort}/connect`, { pingIntervalMs: 0 });
        const got: number[] = [];
        received.push(got);
        client.subscribe(channel, (data) => got.push((data as { n: number }).n)).on('subscribed', ({ resubscribed }) => {
          if (!resubscribed) subscribed++;
        });
        let droppedAt: number | undefined;
        client.on('disconnected', () => {
          droppedAt = Date.now();
        });
        client.on('connecting', () => {
          if (droppedAt !== undefined) waits.push(Date.now() - droppedAt);
          droppedAt = undefined;
        });
        clients.push(client.connect());
      }
      await waitFor(() => subscribed === SDK_CLIENTS, 20_000, 'the SDK clients to subscribe');
      await fetch(`${other.url}/arrivals`); // forget earlier arrivals
      const stoppedAt = Date.now();
      const exited = server.stop('SIGTERM').then(() => Date.now() - stoppedAt);
      balancer.target = port(other);
      let published = 0;
      let gone = false;
      void exited.then(() => (gone = true));
      // Published on the other process while this one drains, paced (not synchronised) over the drain.
      while (!gone || published < 10) {
        // With an idempotency key, as a careful publisher would: a retry after a dropped request publishes once.
        const body = { channel, data: { n: published }, idempotencyKey: `${kind}-${published}` };
        const reply = await postJson(`${other.url}/api/publish`, body).catch((error: Error) => {
          console.log(`publish ${published} retried: ${String(error.cause ?? error)}`);
          return postJson(`${other.url}/api/publish`, body);
        });
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        published++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const exitMs = await exited;
      await waitFor(() => reopened === SOCKETS, 30_000, `all ${SOCKETS} sockets to reconnect (${reopened})`);
      const arrivals = ((await (await fetch(`${other.url}/arrivals`)).json()) as number[]);
      assert.equal(arrivals.length, SOCKETS);
      const expected = Array.from({ length: published }, (_, n) => n);
      await waitFor(() => received.every((got) => got.length >= published), 20_000, 'every SDK client to have every publication');
      // A client closed near the end of the drain opens its next socket after its wait (250 ms or
      // more), which can be after the raw sockets are all back.
      await waitFor(() => waits.length >= SDK_CLIENTS, 20_000, `every SDK client to start reconnecting (${waits.length})`);
      for (const got of received) assert.deepEqual(got, expected);
      assert.equal(closes.length, SOCKETS);
      for (const close of closes) assert.deepEqual(close, { code: 1001, reason: 'server shutting down' });
      const closedInMs = Number(/"closedInMs":(\d+)/.exec(server.output())?.[1] ?? NaN);
      return { ...peakPer100Ms(arrivals), exitMs, closedInMs, waits };
    } finally {
      for (const client of clients) client.close();
      for (const ws of [...raw, ...moved]) ws.terminate();
      await balancer.close();
    }
  }

  test(`SIGTERM with HERALD_DRAIN_MS=${DRAIN_MS}: ${SOCKETS} sockets reconnect to the other process spread over the drain, ${SDK_CLIENTS} SDK clients miss nothing, exit within the shutdown timeout`, async () => {
    const { waits, ...figure } = await stopUnderLoad('drain');
    figures.drain = figure;
    // 2,000 ms over the 3,000 ms timeout: ideally 40 batches, SOCKETS / 20 per 100 ms. The sockets'
    // own test process and the other server share two cores with it, so arrivals bunch behind their
    // busy event loops (measured peaks: docs/operations.md): what draining reliably changes here is
    // the spread; the peak is only bounded to show that the crowd did not come back in one go.
    assert.ok(figure.spreadMs >= DRAIN_MS * 0.75, `reconnects came within ${figure.spreadMs} ms`);
    assert.ok(figure.peak <= SOCKETS / 3, `peak ${figure.peak} per 100 ms`);
    assertShutdownInTime(figure);
    // The server advised a delay within a 50 ms batch slot: the SDK waits its floor, 250 ms, not less.
    assert.equal(waits.length, SDK_CLIENTS);
    assert.ok(waits.every((wait) => wait >= 249), `SDK reconnect waits ${waits.join(',')}`);
  });

  test(`SIGTERM with HERALD_DRAIN_MS=0: the same ${SOCKETS} sockets come back all at once (the comparison)`, async () => {
    const { waits: _waits, ...figure } = await stopUnderLoad('nodrain');
    figures.nodrain = figure;
    assertShutdownInTime(figure);
    // The peaks with and without draining are reported (docs/operations.md), not compared here: how
    // fast an undrained crowd comes back depends on how busy the machine is, which a test cannot fix.
  });

  test('a /connect socket gets the disconnect push, then 1001; a raw socket only the 1001', async () => {
    const server = await spawnHerald(env(500), 'test/support/drain-server.ts');
    try {
      const connect = await TestClient.open(`${server.wsUrl}/connect`);
      assert.equal((await connect.nextJson() as { type: string }).type, 'welcome');
      const plain = await TestClient.open(`${server.wsUrl}/echo`);
      void server.stop('SIGTERM');
      const push = (await connect.nextJson()) as { type: string; reason: string; reconnectAfterMs: number };
      assert.deepEqual(Object.keys(push), ['type', 'reason', 'reconnectAfterMs']);
      assert.equal(push.type, 'disconnect');
      assert.equal(push.reason, 'server shutting down');
      assert.ok(Number.isInteger(push.reconnectAfterMs) && push.reconnectAfterMs >= 0 && push.reconnectAfterMs < 500, String(push.reconnectAfterMs));
      assert.deepEqual(await connect.closed, { code: 1001, reason: 'server shutting down' });
      assert.deepEqual(await plain.closed, { code: 1001, reason: 'server shutting down' });
      assert.equal(plain.pending, 0);
    } finally {
      await server.stop();
    }
  });

  test('the SDK waits the instructed delay once instead of its random backoff, never under the backoff floor', () => {
    const backoff = new ReconnectBackoff({ minDelayMs: 500, maxDelayMs: 20_000 }, () => 0.99);
    backoff.instruct(900);
    backoff.reset(); // the connection proved healthy before the server drained it
    assert.equal(backoff.next(), 900, 'the instruction, not a draw from [250, 500)');
    assert.equal(backoff.attempt, 1, 'it counts as an attempt');
    assert.equal(backoff.next(), 995, 'then the usual backoff');
    backoff.reset();
    backoff.instruct(37);
    assert.equal(backoff.next(), 250, 'the first attempt never comes sooner than 250 ms (the bound of docs/client.md)');
    backoff.instruct(60_000);
    assert.equal(backoff.next(), 20_000, 'capped');
    backoff.instruct(5000);
    backoff.reset(true);
    assert.equal(backoff.next(), 497, 'a fresh connect() forgets it');
  });
});
