import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Errors } from '../src/errors.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { ProtocolClient, type Frame } from './support/protocol-client.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { postJson, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const TIMEOUT_MS = 1000;
/** Longer than the old fixed 5 s command timeout, so both of its failure modes show. */
const PAUSE_MS = 6000;
/** What a loaded test machine may add to the timeout before an answer arrives. */
const MARGIN_MS = 1500;
const UNKNOWN = { code: Errors.PUBLISH_OUTCOME_UNKNOWN.code, message: Errors.PUBLISH_OUTCOME_UNKNOWN.message };

interface Answer {
  data: string;
  key: string;
  via: 'http' | 'connect';
  ms: number;
  /** 'ok' (published), 'not-published' (BROKER_UNAVAILABLE) or 'unknown' (PUBLISH_OUTCOME_UNKNOWN). */
  outcome: 'ok' | 'not-published' | 'unknown';
}

// With Redis paused, every publish is answered within the publish timeout, and truthfully: "not
// published" is never delivered later, "unknown" may be, and a retry with the same idempotency key
// once Redis is back delivers each message exactly once. Redis here is private: pausing the shared
// one would stall every other test.
describe('publish answers while Redis is paused', () => {
  let redis: PrivateRedis;
  /** Between the server and Redis, so a test can drop the server's Redis connections. */
  let proxy: TcpProxy;
  let server: HeraldProcess;
  before(async () => {
    redis = await PrivateRedis.start();
    proxy = await TcpProxy.start(redis.port);
    server = await spawnHerald(
      {
        ...protocolTestEnv,
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        HERALD_REDIS_PREFIX: uniquePrefix(),
        HERALD_PUBLISH_TIMEOUT_MS: String(TIMEOUT_MS),
        HERALD_POSITION_CHECK_MS: '500',
      },
      'test/support/protocol-server.ts',
    );
  });
  after(async () => {
    await server.stop('SIGKILL');
    await proxy.close();
    await redis.kill();
  });

  async function publisherStatus(): Promise<string> {
    const { connections } = (await (await fetch(`${server.url}/readyz`)).json()) as { connections: Record<string, string> };
    return connections.publisher!;
  }

  function pauseRedis(admin: Redis): Promise<unknown> {
    return admin.call('CLIENT', 'PAUSE', PAUSE_MS, 'ALL');
  }

  async function publishHttp(channel: string, data: string, key: string): Promise<Answer> {
    const started = Date.now();
    const { status, body } = await postJson(`${server.url}/api/publish`, { channel, data, idempotencyKey: key });
    const ms = Date.now() - started;
    if (status === 200) {
      assert.equal(body.ok, true);
      return { data, key, via: 'http', ms, outcome: 'ok' };
    }
    if (status === 504) {
      assert.deepEqual(body, { ok: false, error: UNKNOWN });
      return { data, key, via: 'http', ms, outcome: 'unknown' };
    }
    assert.deepEqual([status, body.error.code], [503, Errors.BROKER_UNAVAILABLE.code], `unexpected answer ${status} ${JSON.stringify(body)}`);
    return { data, key, via: 'http', ms, outcome: 'not-published' };
  }

  async function publishConnect(channel: string, data: string, key: string): Promise<Answer> {
    const client = await ProtocolClient.open(`${server.wsUrl}/connect`);
    const started = Date.now();
    const reply = await client.request({ op: 'publish', channel, data, idempotencyKey: key }, TIMEOUT_MS + PAUSE_MS + 5000);
    const ms = Date.now() - started;
    await client.close();
    if (reply.result !== undefined) return { data, key, via: 'connect', ms, outcome: 'ok' };
    if (reply.error.code === UNKNOWN.code) {
      assert.deepEqual(reply.error, UNKNOWN);
      return { data, key, via: 'connect', ms, outcome: 'unknown' };
    }
    assert.equal(reply.error.code, Errors.BROKER_UNAVAILABLE.code);
    return { data, key, via: 'connect', ms, outcome: 'not-published' };
  }

  /** Publishes `marker` (after everything queued before it on the server's Redis connection) and collects the pushes up to it. */
  async function drainUpTo(subscriber: ProtocolClient, channel: string, marker: string): Promise<string[]> {
    assert.equal((await publishHttp(channel, marker, `${marker}-key`)).outcome, 'ok');
    const seen: string[] = [];
    for (;;) {
      const push: Frame = await subscriber.push(10_000);
      assert.equal(push.type, 'pub');
      if (push.data === marker) return seen;
      seen.push(push.data);
    }
  }

  for (const pause of ['CLIENT PAUSE', 'DEBUG SLEEP'] as const) {
    test(`${pause}: each publish is answered within the timeout, truthfully; retries with the same key deliver each exactly once`, async () => {
      const channel = `stream:${pause.replace(' ', '-').toLowerCase()}`;
      const subscriber = await ProtocolClient.open(`${server.wsUrl}/connect`);
      assert.equal((await subscriber.request({ op: 'subscribe', channel })).result.recoverable, true);

      const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
      admin.on('error', () => {});
      // Connected first, so that the pause reaches Redis before any of the publishes below.
      await admin.ping();
      let resumed: Promise<unknown>;
      if (pause === 'CLIENT PAUSE') {
        assert.equal(await pauseRedis(admin), 'OK');
        // Paused clients include this one: its PING is answered when the pause ends.
        resumed = admin.ping();
      } else {
        resumed = admin.call('DEBUG', 'SLEEP', PAUSE_MS / 1000);
      }
      const answers = await Promise.all([
        ...Array.from({ length: 8 }, (_, i) => publishHttp(channel, `http-${i}`, `http-${i}`)),
        ...Array.from({ length: 4 }, (_, i) => publishConnect(channel, `connect-${i}`, `connect-${i}`)),
      ]);
      for (const answer of answers) assert.ok(answer.ms <= TIMEOUT_MS + MARGIN_MS, `${answer.data} answered after ${answer.ms} ms`);
      // Redis answered nothing while paused, and every command was written on a ready connection.
      assert.deepEqual(answers.map((a) => a.outcome), answers.map(() => 'unknown'));
      await resumed;
      admin.disconnect();

      // Everything queued before the marker has been executed by the time the marker arrives.
      const delivered = await drainUpTo(subscriber, channel, 'marker-1');
      for (const answer of answers) {
        const times = delivered.filter((data) => data === answer.data).length;
        assert.ok(times <= 1, `${answer.data} delivered ${times} times`);
        if (answer.outcome === 'not-published') assert.equal(times, 0, `${answer.data} was answered "not published" but delivered`);
      }

      // The retries: a message already delivered is a duplicate, any other is published now.
      for (const answer of answers) {
        const retry = answer.via === 'http' ? await publishHttp(channel, answer.data, answer.key) : await publishConnect(channel, answer.data, answer.key);
        assert.equal(retry.outcome, 'ok');
      }
      const all = [...delivered, ...(await drainUpTo(subscriber, channel, 'marker-2'))];
      assert.deepEqual([...all].sort(), answers.map((a) => a.data).sort());
      assert.equal(await subscriber.silentFor(200), true);
      await subscriber.close();
    });
  }

  test('connection dropped while Redis is paused: answers within the timeout, "not published" never delivered, retries deliver each exactly once', async () => {
    const channel = 'stream:dropped';
    const subscriber = await ProtocolClient.open(`${server.wsUrl}/connect`);
    assert.equal((await subscriber.request({ op: 'subscribe', channel })).result.recoverable, true);
    const admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    admin.on('error', () => {});
    await admin.ping();
    assert.equal(await pauseRedis(admin), 'OK');
    const resumed = admin.ping();
    // Written to the paused Redis (or still queued in the client), then the connection drops.
    const beforeDrop = Array.from({ length: 4 }, (_, i) => publishHttp(channel, `before-${i}`, `before-${i}`));
    proxy.cut();
    // The server reconnects, but cannot finish its handshake with the paused Redis: not ready.
    await waitFor(async () => (await publisherStatus()) !== 'ready', 5000, 'the publisher connection to drop');
    const whileDown = await Promise.all(Array.from({ length: 4 }, (_, i) => publishHttp(channel, `down-${i}`, `down-${i}`)));
    assert.deepEqual(whileDown.map((a) => a.outcome), ['not-published', 'not-published', 'not-published', 'not-published']);
    const answers = [...(await Promise.all(beforeDrop)), ...whileDown];
    for (const answer of answers) {
      assert.ok(answer.ms <= TIMEOUT_MS + MARGIN_MS, `${answer.data} answered after ${answer.ms} ms`);
      assert.notEqual(answer.outcome, 'ok', `${answer.data} confirmed by a paused Redis`);
    }
    await resumed;
    admin.disconnect();
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).ok, 10_000, 'the server to reconnect to Redis');

    const delivered = await drainUpTo(subscriber, channel, 'marker-1');
    for (const answer of answers) {
      const times = delivered.filter((data) => data === answer.data).length;
      assert.ok(times <= 1, `${answer.data} delivered ${times} times`);
      if (answer.outcome === 'not-published') assert.equal(times, 0, `${answer.data} was answered "not published" but delivered`);
    }
    for (const answer of answers) assert.equal((await publishHttp(channel, answer.data, answer.key)).outcome, 'ok');
    const all = [...delivered, ...(await drainUpTo(subscriber, channel, 'marker-2'))];
    assert.deepEqual([...all].sort(), answers.map((a) => a.data).sort());
    assert.equal(await subscriber.silentFor(200), true);
    await subscriber.close();
  });
});
