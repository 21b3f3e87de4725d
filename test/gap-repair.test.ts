import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Herald, type PublicationContext } from '../client/node.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { REDIS_URL, redisClient, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';

const SCRIPT = 'test/support/protocol-server.ts';

/** Kills the Redis Pub/Sub connection of one Herald process only (found by its connection name). */
async function killSubscriberConnection(prefix: string, server: HeraldProcess): Promise<void> {
  const redis = redisClient();
  const list = (await redis.client('LIST')) as string;
  const name = `herald-subscriber:${prefix}:${server.child.pid}`;
  const line = list.split('\n').find((entry) => entry.includes(` name=${name} `));
  assert.ok(line, `no Redis connection named ${name}`);
  const id = /(?:^|\s)id=(\d+)/.exec(line)![1]!;
  assert.equal(await redis.client('KILL', 'ID', id), 1);
  redis.disconnect();
}

// Redis Pub/Sub is at-most-once: these tests make it lose publications for a subscriber that
// stays connected, and check that Herald notices and refills them from history.
describe('no silent gaps while connected (Redis)', () => {
  const prefix = uniquePrefix();
  const env = { ...protocolTestEnv, REDIS_URL, HERALD_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', HERALD_POSITION_CHECK_MS: '300' };
  let a: HeraldProcess;
  let b: HeraldProcess;
  const clients: Herald[] = [];
  const client = (server: HeraldProcess): Herald => {
    const herald = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 100, maxReconnectDelayMs: 500 }).connect();
    clients.push(herald);
    return herald;
  };
  before(async () => {
    [a, b] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
  });
  after(async () => {
    for (const herald of clients) herald.close();
    await Promise.all([a.stop(), b.stop()]);
    const redis = redisClient();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('CLIENT KILL of the subscriber connection mid-stream: the handler still gets every publication once, in order', async () => {
    const subscriber = client(a);
    const publisher = client(b);
    const received: unknown[] = [];
    let disconnects = 0;
    subscriber.on('disconnected', () => disconnects++);
    await subscriber.subscribe('stream:pubsub', (data) => received.push(data)).ready;
    const total = 600;
    for (let i = 1; i <= total; i++) {
      await publisher.publish('stream:pubsub', i);
      if (i === 200 || i === 400) await killSubscriberConnection(prefix, a);
      if (i % 20 === 0) await delay(20); // pacing: a steady stream, not synchronisation
    }
    await waitFor(() => received.length >= total, 20_000, 'every publication');
    // A lost tail: killed, then a burst with nothing after it; the position check refills it.
    await killSubscriberConnection(prefix, a);
    for (let i = total + 1; i <= total + 5; i++) await publisher.publish('stream:pubsub', i);
    await waitFor(() => received.length >= total + 5, 20_000, 'the tail');
    await publisher.ping();
    assert.deepEqual(received, Array.from({ length: total + 5 }, (_, i) => i + 1));
    assert.equal(disconnects, 0);
    assert.match(a.output(), /refilled publications lost by the broker/);
  });

  test('messages published straight to Redis by another program arrive without an offset', async () => {
    const subscriber = client(a);
    const received: Array<[unknown, PublicationContext]> = [];
    await subscriber.subscribe('foreign', (data, context) => received.push([data, context])).ready;
    const redis = redisClient();
    await redis.publish(`${prefix}foreign`, 'hello');
    await redis.publish(`${prefix}foreign`, '{"a":1}');
    redis.disconnect();
    await waitFor(() => received.length === 2);
    assert.deepEqual(received, [['hello', { channel: 'foreign' }], [{ a: 1 }, { channel: 'foreign' }]]);
  });

  test('a gap history cannot fill closes /connect subscribers with 4001; the SDK reconnects and recovers', async () => {
    const raw = await ProtocolClient.open(`${a.wsUrl}/connect`);
    const subscribed = await raw.request({ op: 'subscribe', channel: 'gapped' });
    const epoch = subscribed.result.epoch;
    const sdk = client(a);
    const received: unknown[] = [];
    const sub = sdk.subscribe('gapped', (data) => received.push(data));
    await sub.ready;
    await sdk.publish('gapped', 'one');
    await waitFor(() => received.length === 1);
    assert.equal((await raw.push()).offset, 1);
    const disconnected = new Promise<{ code: number; reconnect: boolean }>((resolve) => sdk.on('disconnected', resolve));
    const resubscribed = new Promise((resolve) => sub.on('subscribed', resolve));
    // A publication claiming offset 50 of the same epoch: 2..49 are in no history anywhere.
    const redis = redisClient();
    await redis.publish(`${prefix}gapped`, `herald1 {"offset":50,"epoch":"${epoch}"}\n"forged"`);
    redis.disconnect();
    assert.deepEqual(await raw.socket.closed, { code: 4001, reason: 'Publications were lost and could not be recovered here; reconnect to recover' });
    assert.deepEqual(await disconnected, { code: 4001, reason: 'Publications were lost and could not be recovered here; reconnect to recover', reconnect: true });
    assert.deepEqual(await resubscribed, { recovered: true, resubscribed: true, recoverable: true });
    await sdk.publish('gapped', 'two');
    await waitFor(() => received.length === 2);
    assert.deepEqual(received, ['one', 'two']);
  });
});
