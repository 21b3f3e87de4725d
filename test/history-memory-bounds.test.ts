import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryBroker } from '../src/broker/memory-broker.ts';
import type { MemoryHistory } from '../src/history/memory-history.ts';
import { protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';

// The embedded broker keeps channel positions in the server's heap: what anonymous clients can make
// it keep must be bounded, and what no one uses must be freed.
describe('memory history: bounded state', () => {
  let server: RunningHerald;
  let history: MemoryHistory;
  before(async () => {
    // Only /connect, no demo app: its clock would publish to a channel of its own meanwhile.
    server = await startHerald({ ...protocolTestOptions, maxMessagesPerSecond: 0 }, (herald) => {
      herald.namespace('brief', { history: { size: 5, ttlSeconds: 1 } });
    });
    history = server.herald.broker.history as MemoryHistory;
  });
  after(() => server.close());

  test('100,000 history reads and subscribes of never-published channels leave no state behind', async () => {
    const before = history.channelCount;
    const SOCKETS = 4;
    const PER_SOCKET = 25_000;
    const BATCH = 1000;
    const clients = await Promise.all(Array.from({ length: SOCKETS }, () => ProtocolClient.open(`${server.wsUrl}/connect`)));
    await Promise.all(
      clients.map(async (client, c) => {
        for (let sent = 0; sent < PER_SOCKET; sent += BATCH) {
          for (let i = sent; i < sent + BATCH; i++) client.socket.send({ op: 'history', id: i, channel: `never:${c}-${i}` });
          for (let i = 0; i < BATCH; i++) {
            const reply = JSON.parse(await client.socket.next(10_000));
            assert.equal(reply.type, 'reply');
            assert.deepEqual(reply.result.publications, []);
            assert.equal(reply.result.offset, 0);
          }
        }
      }),
    );
    assert.equal(history.channelCount, before);
    // Subscribing (and leaving) does not leave state either.
    const client = clients[0]!;
    for (let i = 0; i < 100; i++) {
      assert.equal((await client.request({ op: 'subscribe', channel: `never:sub-${i}` })).result.offset, 0);
      await client.request({ op: 'unsubscribe', channel: `never:sub-${i}` });
    }
    assert.equal(history.channelCount, before);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('a channel whose publications expired and that nobody is subscribed to is freed; a subscribed one keeps its position', async () => {
    const publisher = await ProtocolClient.open(`${server.wsUrl}/connect`);
    const watcher = await ProtocolClient.open(`${server.wsUrl}/connect`);
    const before = history.channelCount;
    const watched = await watcher.request({ op: 'subscribe', channel: 'brief:watched' });
    const published = await publisher.request({ op: 'publish', channel: 'brief:idle', data: 1 });
    assert.equal(published.result.offset, 1);
    assert.equal((await publisher.request({ op: 'publish', channel: 'brief:watched', data: 1 })).result.offset, 1);
    assert.equal((await watcher.push()).data, 1);
    assert.equal(history.channelCount, before + 2);
    // Once the 1 s history has expired, a read of the idle channel finds nothing to keep.
    await waitFor(async () => (await publisher.request({ op: 'history', channel: 'brief:idle' })).result.offset === 0, 5000, 'the idle channel to be freed');
    assert.equal(history.channelCount, before + 1);
    const kept = await publisher.request({ op: 'history', channel: 'brief:watched' });
    assert.deepEqual(kept.result, { channel: 'brief:watched', offset: 1, epoch: watched.result.epoch, publications: [] });
    await Promise.all([publisher.close(), watcher.close()]);
  });

  test('a subscriber of a never-published channel keeps its epoch when the first publication comes, even after other channels were freed', async () => {
    const watcher = await ProtocolClient.open(`${server.wsUrl}/connect`);
    const publisher = await ProtocolClient.open(`${server.wsUrl}/connect`);
    const subscribed = await watcher.request({ op: 'subscribe', channel: 'brief:later' });
    // Free another channel meanwhile.
    await publisher.request({ op: 'publish', channel: 'brief:gone', data: 0 });
    await waitFor(async () => (await publisher.request({ op: 'history', channel: 'brief:gone' })).result.offset === 0, 5000, 'brief:gone to be freed');
    await publisher.request({ op: 'publish', channel: 'brief:later', data: 'first' });
    assert.deepEqual(await watcher.push(), { type: 'pub', channel: 'brief:later', offset: 1, epoch: subscribed.result.epoch, data: 'first' });
    await Promise.all([publisher.close(), watcher.close()]);
  });
});

test('memory history: past its channel cap it evicts the oldest channel nobody is subscribed to, and that channel starts a new epoch', async () => {
  const broker = new MemoryBroker({ maxHistoryChannels: 3 });
  await broker.start(() => {});
  const HISTORY = { size: 5, ttlSeconds: 60 };
  try {
    await broker.subscribe('a');
    const a = await broker.publish('a', '1', { history: HISTORY });
    const b = await broker.publish('b', '1', { history: HISTORY });
    await broker.publish('c', '1', { history: HISTORY });
    await broker.publish('d', '1', { history: HISTORY });
    const history = broker.history;
    assert.equal(history.channelCount, 3);
    // `a` is older but subscribed: `b` went.
    assert.deepEqual((await history.read('a')).position, { offset: 1, epoch: a.epoch });
    const evicted = await history.read('b');
    assert.equal(evicted.position.offset, 0);
    assert.notEqual(evicted.position.epoch, b.epoch);
    assert.equal((await broker.publish('b', '2', { history: HISTORY })).offset, 1);
  } finally {
    await broker.close();
  }
});

test('memory history: past its idempotency key cap it forgets the oldest key first', async () => {
  const broker = new MemoryBroker({ maxIdempotencyKeys: 2 });
  await broker.start(() => {});
  try {
    for (const key of ['k1', 'k2', 'k3']) assert.equal((await broker.publish('idem', '1', { idempotencyKey: key })).duplicate, undefined);
    assert.equal((await broker.publish('idem', '1', { idempotencyKey: 'k3' })).duplicate, true);
    assert.equal((await broker.publish('idem', '1', { idempotencyKey: 'k2' })).duplicate, true);
    // k1 was the oldest: forgotten, so it publishes again (and now k2 is the oldest).
    assert.equal((await broker.publish('idem', '1', { idempotencyKey: 'k1' })).duplicate, undefined);
    assert.equal((await broker.publish('idem', '1', { idempotencyKey: 'k3' })).duplicate, true);
  } finally {
    await broker.close();
  }
});
