import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { RedisBroker } from '../src/broker/redis-broker.ts';
import type { Publication } from '../src/channels/publication.ts';
import { PublishDeadlines } from '../src/broker/publish-deadlines.ts';
import { publishThroughRedis } from '../src/broker/redis-publish.ts';
import { singleRedisKeys } from '../src/engine/redis-keys.ts';
import type { RedisHistory } from '../src/history/redis-history.ts';
import { NotWrittenError, RedisPublishBatches } from '../src/history/redis-publish-batch.ts';
import { deleteKeys, REDIS_URL, redisClient, uniquePrefix, waitFor } from './support/servers.ts';

// The publications of one turn share a script call: each caller must still get its own outcome,
// and a channel's publications must keep their order whether they are kept or not.
const prefix = uniquePrefix();
const broker = new RedisBroker({ target: REDIS_URL, prefix });
const received: Publication[] = [];
await broker.start((publication) => received.push(publication));
after(async () => {
  await broker.close();
  await deleteKeys(prefix);
});

const history = { size: 100, ttlSeconds: 60 };

test('one turn of mixed publications: each caller gets its own result, a failing one fails alone', async () => {
  const redis = redisClient();
  // A key of the wrong type makes that channel's publication fail inside the shared script call.
  await redis.set(singleRedisKeys(prefix).channelKey('broken', 'history-meta'), 'not a hash');
  redis.disconnect();
  await broker.subscribe('mixed');
  const outcomes = await Promise.allSettled([
    broker.publish('mixed', '1', { history }),
    broker.publish('broken', '"x"', { history }),
    broker.publish('mixed', '2', { history, idempotencyKey: 'k', from: 'conn-1' }),
    broker.publish('mixed', '2', { history, idempotencyKey: 'k', from: 'conn-1' }),
    broker.publish('mixed', '{"connection":"c"}', { history, event: 'join' }),
    broker.publish('mixed', '3'),
    broker.publish('mixed', '4', { history }),
  ]);
  const [first, broken, second, repeat, join, plain, fourth] = outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason));
  assert.equal(first.offset, 1);
  assert.equal(broken.code, 'HERALD_ERR_BROKER_UNAVAILABLE');
  assert.equal(second.offset, 2);
  assert.equal(second.epoch, first.epoch);
  assert.deepEqual(repeat, { reached: 0, offset: 2, epoch: first.epoch, duplicate: true });
  assert.deepEqual(join, { reached: 1 });
  assert.deepEqual(plain, { reached: 1 });
  assert.equal(fourth.offset, 3);
  await waitFor(() => received.length === 5, 3000, 'five deliveries');
  assert.deepEqual(
    received.map((p) => [p.json, p.offset, p.event, p.from]),
    [
      ['1', 1, undefined, undefined],
      ['2', 2, undefined, 'conn-1'],
      ['{"connection":"c"}', undefined, 'join', undefined],
      ['3', undefined, undefined, undefined],
      ['4', 3, undefined, undefined],
    ],
  );
  const page = await broker.history.read('mixed', {});
  assert.deepEqual(page.publications.map((p) => [p.offset, p.json, p.from]), [[1, '1', undefined], [2, '2', 'conn-1'], [3, '4', undefined]]);
});

test('publications without history in one turn are bare publishes, each with its own count', async () => {
  received.length = 0;
  await broker.subscribe('bare');
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => broker.publish(i % 2 === 0 ? 'bare' : 'nobody', String(i))));
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => ({ reached: i % 2 === 0 ? 1 : 0 })));
  await waitFor(() => received.length === 10, 3000, 'ten deliveries');
  assert.deepEqual(received.map((p) => Number(p.json)), Array.from({ length: 10 }, (_, i) => i * 2));
});

test('a turn larger than one script call keeps every offset in order', async () => {
  const results = await Promise.all(Array.from({ length: 600 }, (_, i) => broker.publish('many', String(i), { history: { size: 1000, ttlSeconds: 60 } })));
  assert.deepEqual(results.map((r) => r.offset), Array.from({ length: 600 }, (_, i) => i + 1));
  assert.equal(new Set(results.map((r) => r.epoch)).size, 1);
});

test('a batch whose connection closed during its turn is refused unwritten, and answered not published', async () => {
  const closed = { status: 'reconnecting', defineCommand() {} } as unknown as ConstructorParameters<typeof RedisPublishBatches>[0];
  const batches = new RedisPublishBatches(closed, singleRedisKeys(prefix), undefined);
  await assert.rejects(batches.publish('x', '1', '', undefined, history, undefined), NotWrittenError);
  const deadlines = new PublishDeadlines(1000);
  const via = { history: { publish: (...args: Parameters<RedisHistory['publish']>) => batches.publish(...args) } as RedisHistory, deadlines };
  await assert.rejects(publishThroughRedis('x', '1', { history }, via), { code: 'HERALD_ERR_BROKER_UNAVAILABLE' });
  deadlines.close();
});

// A channel's expiry is renewed at most once per twentieth of its TTL (per process), and set that
// much longer: each publication is still kept at least ttlSeconds, and a busy channel costs Redis
// two commands fewer per publication.
test('expiry renewals: skipped within a twentieth of the TTL, never leaving a publication kept less than ttlSeconds', async () => {
  const redis = redisClient();
  const keys = singleRedisKeys(prefix);
  const expiryOf = async (channel: string, kind: 'history' | 'history-meta'): Promise<number> => {
    const pttl = await redis.pttl(keys.channelKey(channel, kind));
    assert.ok(pttl > 0, `${kind} of ${channel} has an expiry (${pttl})`);
    return Date.now() + pttl;
  };
  try {
    // TTL 600 s: renewed at most every 30 s, each renewal good for 630 s.
    const long = { size: 100, ttlSeconds: 600 };
    const firstAt = Date.now();
    await broker.publish('renew-long', '1', { history: long });
    const streamExpiry = await expiryOf('renew-long', 'history');
    assert.ok(streamExpiry >= firstAt + 630_000 - 50 && streamExpiry <= Date.now() + 630_000, `stream expires ${streamExpiry - firstAt} ms after the first publication`);
    const metaExpiry = await expiryOf('renew-long', 'history-meta');
    assert.ok(metaExpiry >= firstAt + 86_400_000 + 30_000 - 50, `position expires ${metaExpiry - firstAt} ms after the first publication`);
    // Time passes (what is tested is time), then a second publication within the 30 s: no renewal.
    await waitFor(() => Date.now() >= firstAt + 300, 2000, '300 ms to pass');
    const secondAt = Date.now();
    await broker.publish('renew-long', '2', { history: long });
    const unchanged = await expiryOf('renew-long', 'history');
    assert.ok(Math.abs(unchanged - streamExpiry) < 100, `not renewed: moved by ${unchanged - streamExpiry} ms`);
    assert.ok(unchanged >= secondAt + 600_000, 'still kept at least ttlSeconds after the last publication');

    // The stream gone while the position stays (deleted, or dropped by a read that found no epoch):
    // the next publication makes it again with its expiry, renewal interval or not.
    await redis.del(keys.channelKey('renew-long', 'history'));
    const thirdAt = Date.now();
    const third = await broker.publish('renew-long', '3', { history: long });
    assert.equal(third.offset, 3);
    assert.ok((await expiryOf('renew-long', 'history')) >= thirdAt + 630_000 - 50, 'a stream made again has its expiry');
    // The history removed (a new epoch): both keys get theirs.
    await broker.history.remove('renew-long');
    const fourth = await broker.publish('renew-long', '4', { history: long });
    assert.equal(fourth.offset, 1);
    assert.ok((await expiryOf('renew-long', 'history')) > Date.now() + 600_000);
    assert.ok((await expiryOf('renew-long', 'history-meta')) > Date.now() + 86_400_000);

    // TTL 2 s: renewed at most every 100 ms. A publication after that renews, 2.1 s from then.
    const short = { size: 100, ttlSeconds: 2 };
    await broker.publish('renew-short', '1', { history: short });
    const before = await expiryOf('renew-short', 'history');
    const waitedFrom = Date.now();
    await waitFor(() => Date.now() >= waitedFrom + 400, 2000, '400 ms to pass');
    const renewedAt = Date.now();
    await broker.publish('renew-short', '2', { history: short });
    const after = await expiryOf('renew-short', 'history');
    assert.ok(after - before >= 300, `renewed: moved by ${after - before} ms`);
    assert.ok(after >= renewedAt + 2000, 'kept at least ttlSeconds after the last publication');
  } finally {
    redis.disconnect();
  }
});
