import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Herald, type PublicationContext } from '../client/node.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { deleteKeys, postJson, REDIS_URL, redisClient, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';
import pino from 'pino';
import { MemoryBroker } from '../src/broker/memory-broker.ts';
import type { Publication } from '../src/channels/publication.ts';
import { SubscriberRegistry, type Subscriber } from '../src/channels/subscriber-registry.ts';
import { GapRepair } from '../src/history/gap-repair.ts';

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

/** Publishes `data` on `channel` through a process's HTTP API (never subscribed there). */
async function publishVia(server: HeraldProcess, channel: string, data: unknown): Promise<void> {
  const reply = await postJson(`${server.url}/api/publish`, { channel, data });
  assert.deepEqual(reply, { status: 200, body: { ok: true } });
}

/** How many Redis subscriber connections (one per process) receive `channel`. */
async function redisSubscribers(prefix: string, channel: string): Promise<number> {
  const redis = redisClient();
  const [, count] = (await redis.pubsub('NUMSUB', prefix + channel)) as [string, number];
  redis.disconnect();
  return Number(count);
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

  test('the periodic check acts on a new epoch: what the new history holds is pushed, in its epoch', async () => {
    const channel = 'stream:epoch';
    const raw = await ProtocolClient.open(`${a.wsUrl}/connect`);
    const subscribed = await raw.request({ op: 'subscribe', channel });
    const epoch = subscribed.result.epoch as string;
    for (let i = 1; i <= 2; i++) await publishVia(b, channel, i);
    for (let i = 1; i <= 2; i++) assert.deepEqual(await raw.push(), { type: 'pub', channel, offset: i, epoch, data: i });
    // The history is lost and restarted, and its first publication never reaches process a over
    // Pub/Sub: written straight into Redis, as the publish script would have.
    const redis = redisClient();
    await redis
      .multi()
      .del(`${prefix}history-meta:${channel}`, `${prefix}history:${channel}`)
      .hset(`${prefix}history-meta:${channel}`, 'epoch', 'newEpoch', 'offset', 1)
      .xadd(`${prefix}history:${channel}`, '1-0', 'd', '"straight"')
      .exec();
    redis.disconnect();
    assert.deepEqual(await raw.push(5000), { type: 'pub', channel, offset: 1, epoch: 'newEpoch', data: 'straight' });
    await raw.close();
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

// What a process knows about a channel's stream must not outlive the channel's last local
// subscriber: the broker stops sending the channel to it, so the next subscriber starts afresh.
// The periodic check is off, so nothing but the release of the channel can free that state.
describe('gap repair starts afresh when a process subscribes to a channel again (Redis)', () => {
  const prefix = uniquePrefix();
  const env = { ...protocolTestEnv, REDIS_URL, HERALD_REDIS_PREFIX: prefix, LOG_LEVEL: 'info', HERALD_POSITION_CHECK_MS: '0' };
  let p1: HeraldProcess;
  let p2: HeraldProcess;
  before(async () => {
    [p1, p2] = await Promise.all([spawnHerald(env, SCRIPT), spawnHerald(env, SCRIPT)]);
  });
  after(async () => {
    await Promise.all([p1.stop(), p2.stop()]);
    await deleteKeys(prefix);
  });

  test('a raw socket gets only what is published after it opened; a /connect subscriber is not closed for publications it never asked for', async () => {
    const channel = 'forgetme';
    const first = await ProtocolClient.open(`${p1.wsUrl}/connect`);
    const subscribed = await first.request({ op: 'subscribe', channel });
    assert.equal(subscribed.result.offset, 0);
    const epoch = subscribed.result.epoch as string;
    for (let i = 1; i <= 3; i++) await publishVia(p2, channel, `m${i}`);
    for (let i = 1; i <= 3; i++) assert.deepEqual(await first.push(), { type: 'pub', channel, offset: i, epoch, data: `m${i}` });
    await first.close();
    await waitFor(async () => (await redisSubscribers(prefix, channel)) === 0, 5000, 'p1 to leave the channel');

    for (let i = 4; i <= 53; i++) await publishVia(p2, channel, `m${i}`);
    const raw = await TestClient.open(`${p1.wsUrl}/ws/${channel}`);
    await publishVia(p2, channel, 'm54');
    assert.equal(await raw.next(), 'm54');
    await raw.close();
    await waitFor(async () => (await redisSubscribers(prefix, channel)) === 0, 5000, 'p1 to leave the channel again');

    for (let i = 55; i <= 304; i += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, k) => publishVia(p2, channel, `m${i + k}`)));
    }
    const late = await ProtocolClient.open(`${p1.wsUrl}/connect`);
    const reply = await late.request({ op: 'subscribe', channel });
    assert.deepEqual(reply.result, { channel, recoverable: true, offset: 304, epoch });
    await publishVia(p2, channel, 'm305');
    assert.deepEqual(await late.push(), { type: 'pub', channel, offset: 305, epoch, data: 'm305' });
    await late.close();
    assert.doesNotMatch(p1.output(), /refilled publications|publications lost and not in history/);
  });

  test('a publication that is not the first of a new epoch: the new epoch\'s earlier ones are refilled before it', async () => {
    const channel = 'epoch-next';
    const raw = await ProtocolClient.open(`${p1.wsUrl}/connect`);
    const epoch = (await raw.request({ op: 'subscribe', channel })).result.epoch as string;
    await publishVia(p2, channel, 'one');
    assert.deepEqual(await raw.push(), { type: 'pub', channel, offset: 1, epoch, data: 'one' });
    // The history is lost and restarted, and the new epoch's first publication never reaches p1.
    const redis = redisClient();
    await redis
      .multi()
      .del(`${prefix}history-meta:${channel}`, `${prefix}history:${channel}`)
      .hset(`${prefix}history-meta:${channel}`, 'epoch', 'nextEpoch', 'offset', 1)
      .xadd(`${prefix}history:${channel}`, '1-0', 'd', '"straight"')
      .exec();
    redis.disconnect();
    await publishVia(p2, channel, 'two');
    assert.deepEqual(await raw.push(), { type: 'pub', channel, offset: 1, epoch: 'nextEpoch', data: 'straight' });
    assert.deepEqual(await raw.push(), { type: 'pub', channel, offset: 2, epoch: 'nextEpoch', data: 'two' });
    await raw.close();
  });

  test('a refilled publication keeps its sender: /chat (no echo) does not get its own message back', async () => {
    const ada = await TestClient.open(`${p1.wsUrl}/chat?username=ada`);
    const bob = await TestClient.open(`${p2.wsUrl}/chat?username=bob`);
    bob.send('hello');
    assert.equal(await ada.next(), '{"username":"bob","message":"hello"}');
    // p1 loses what is published while its Pub/Sub connection is down: ada's own message.
    await killSubscriberConnection(prefix, p1);
    ada.send('mine');
    assert.equal(await bob.next(), '{"username":"ada","message":"mine"}');
    await waitFor(async () => (await redisSubscribers(prefix, 'room:lobby')) === 2, 10_000, 'p1 to resubscribe');
    // The next publication shows p1 the gap; it refills ada's message, which ada must not get.
    bob.send('after');
    assert.equal(await ada.next(), '{"username":"bob","message":"after"}');
    await waitFor(() => /"channel":"room:lobby","from":2,"to":2,"msg":"refilled publications lost by the broker"/.test(p1.output()), 5000, 'the refill log line');
    await Promise.all([ada.close(), bob.close()]);
  });
});

describe('gap repair state in memory', () => {
  test('is freed when the last local subscriber of a channel leaves, with the periodic check off', async () => {
    const broker = new MemoryBroker();
    const registry = new SubscriberRegistry(broker);
    const gapRepair = new GapRepair(broker.history, registry, pino({ level: 'silent' }), 0);
    await broker.start(gapRepair.dispatch);
    const received: Publication[] = [];
    const subscriber: Subscriber = { deliver: (publication) => received.push(publication) };
    const history = { size: 10, ttlSeconds: 60 };
    for (let i = 0; i < 100; i++) {
      const channel = `quiet-${i}`;
      await registry.add(channel, subscriber);
      await broker.publish(channel, '"x"', { history });
    }
    assert.equal(received.length, 100);
    assert.equal(gapRepair.channelCount, 100);
    for (let i = 0; i < 100; i++) registry.remove(`quiet-${i}`, subscriber);
    assert.equal(gapRepair.channelCount, 0);
    gapRepair.close();
    await broker.close();
  });
});
