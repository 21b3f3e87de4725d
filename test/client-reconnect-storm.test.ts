import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Herald } from '../client/node.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { postJson, spawnHerald, uniquePrefix, waitFor } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const CLIENTS = 200;
/**
 * Shorter than the 20 s of the guarantee, same property: long enough for five backoff steps
 * (250 + 500 + 1000 + 2000 + 4000 ms) and for a client that ignored them to show it (without
 * backoff, 200 clients on this loaded machine made about 116 attempts a second: 1,158 in 10 s).
 */
const OUTAGE_MS = 15_000;

/**
 * The most connection attempts one SDK client with the default options (minReconnectDelayMs 500,
 * maxReconnectDelayMs 20000) can make within `ms` of losing its connection: the k-th delay is at
 * least min(20000, 500 × 2^k) / 2, whatever the jitter draws (docs/client.md states this bound).
 */
function attemptBound(ms: number): number {
  let attempts = 0;
  let earliest = 0;
  for (let k = 0; ; k++) {
    earliest += Math.min(20_000, 500 * 2 ** k) / 2;
    if (earliest > ms) return attempts;
    attempts++;
  }
}

// The server process has its own Redis, killed for the outage (never the shared one). Every client
// goes through a TCP proxy, which cuts them all at once and counts their connection attempts.
test(`${CLIENTS} SDK clients cut off while Redis is down back off (bounded attempts) and all recover when it returns`, async () => {
  assert.equal(attemptBound(OUTAGE_MS), 5);
  assert.equal(attemptBound(20_000), 6);
  const redis = await PrivateRedis.start();
  const server = await spawnHerald({ ...protocolTestEnv, REDIS_URL: redis.url, HERALD_REDIS_PREFIX: uniquePrefix() }, 'test/support/protocol-server.ts');
  const proxy = await TcpProxy.start(Number(new URL(server.url).port));
  const clients: Herald[] = [];
  try {
    const received: unknown[][] = [];
    const resubscribed: boolean[] = [];
    /** Per client, the ms from each close that followed a refused subscription to the next attempt. */
    const waitsAfterRefusal: number[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const herald = new Herald(`ws://127.0.0.1:${proxy.port}/connect`, { pingIntervalMs: 0 });
      const got: unknown[] = [];
      received.push(got);
      resubscribed.push(false);
      herald.subscribe('storm', (data) => got.push(data)).on('subscribed', (event) => {
        if (event.resubscribed) resubscribed[i] = true;
      });
      let refusedAt: number | undefined;
      herald.on('disconnected', ({ code }) => {
        // The SDK closes the socket itself (no close code: 1005) after a subscription refused with BROKER_UNAVAILABLE.
        refusedAt = code === 1005 ? Date.now() : undefined;
      });
      herald.on('connecting', () => {
        if (refusedAt !== undefined) waitsAfterRefusal.push(Date.now() - refusedAt);
        refusedAt = undefined;
      });
      clients.push(herald.connect());
    }
    await Promise.all(clients.map((herald) => herald.subscription('storm')!.ready));

    await redis.kill();
    const readyz = async (): Promise<number> => (await fetch(`${server.url}/readyz`)).status;
    await waitFor(async () => (await readyz()) === 503, 10_000, 'the server to notice Redis is down');
    const before = proxy.accepted;
    const cutAt = Date.now();
    proxy.cut();
    // Every client comes back at least once and is refused its subscription (the broker is down).
    await waitFor(() => proxy.accepted - before >= CLIENTS, 20_000, 'every client to try once');
    // The outage itself: nothing to wait for but time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))));
    const attempts = proxy.accepted - before;
    const elapsed = Date.now() - cutAt;
    assert.ok(
      attempts <= CLIENTS * attemptBound(elapsed),
      `${attempts} connection attempts in ${elapsed} ms: more than ${attemptBound(elapsed)} per client`,
    );
    assert.ok(resubscribed.every((done) => !done), 'no subscription can be confirmed while Redis is down');
    // The server's advice (retryAfterMs: 2000 with each refusal) is a floor for the next attempt.
    assert.ok(waitsAfterRefusal.length >= CLIENTS, `${waitsAfterRefusal.length} retries after a refusal`);
    assert.ok(Math.min(...waitsAfterRefusal) >= 1990, `an attempt ${Math.min(...waitsAfterRefusal)} ms after a refusal advising 2000 ms`);

    await redis.restart();
    const recoveryStart = Date.now();
    await waitFor(() => resubscribed.every(Boolean), 40_000, 'every client to resubscribe');
    // One attempt each that succeeds, plus at most one refused while the server is still
    // reconnecting to Redis (up to 2 s), after which the next delay is several seconds.
    const recoveryAttempts = proxy.accepted - before - attempts;
    assert.ok(recoveryAttempts >= CLIENTS && recoveryAttempts <= CLIENTS * 3, `${recoveryAttempts} attempts to recover`);
    assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'storm', data: 'back' })).body, { ok: true });
    await waitFor(() => received.every((got) => got.length === 1), 10_000, 'the publication to reach every client');
    assert.ok(received.every((got) => got[0] === 'back'));
    assert.equal(clients.filter((herald) => herald.state === 'connected').length, CLIENTS);
    console.log(`# ${attempts} attempts in ${elapsed} ms of outage (bound ${CLIENTS * attemptBound(elapsed)}), recovered in ${Date.now() - recoveryStart} ms`);
  } finally {
    for (const herald of clients) herald.close();
    await proxy.close();
    await server.stop('SIGKILL');
    await redis.kill();
  }
});
