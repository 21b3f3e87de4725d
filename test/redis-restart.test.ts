import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postJson, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { TestClient } from './support/ws-client.ts';

// Redis dies and comes back: readiness must say so, publishing must fail loudly meanwhile, and
// subscriptions must come back by themselves (the failures of Socket.IO #4845, Reverb #258).
describe('Redis restart', () => {
  let redis: PrivateRedis;
  let a: HeraldProcess;
  let b: HeraldProcess;
  before(async () => {
    redis = await PrivateRedis.start();
    const env = { REDIS_URL: redis.url, HERALD_REDIS_PREFIX: uniquePrefix() };
    [a, b] = await Promise.all([spawnHerald(env), spawnHerald(env)]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await redis.kill();
  });

  const readyStatus = async (server: HeraldProcess): Promise<number> => (await fetch(`${server.url}/readyz`)).status;

  test('readyz goes 503 and publish answers 503 while Redis is down; delivery resumes after it returns', async () => {
    const subscriber = await TestClient.open(`${a.wsUrl}/ws/survivor`);
    assert.equal(await readyStatus(a), 200);
    assert.deepEqual((await postJson(`${b.url}/api/publish`, { channel: 'survivor', data: 'before' })).body, { ok: true });
    assert.equal(await subscriber.next(), 'before');

    await redis.kill();
    await waitFor(async () => (await readyStatus(a)) === 503 && (await readyStatus(b)) === 503, 10_000, 'readyz 503');
    const ready = await (await fetch(`${a.url}/readyz`)).json();
    assert.equal(ready.ok, false);
    assert.equal(ready.broker, 'redis');
    const refused = await postJson(`${b.url}/api/publish`, { channel: 'survivor', data: 'lost?' });
    assert.equal(refused.status, 503);
    assert.deepEqual(refused.body, {
      ok: false,
      error: { code: 'HERALD_ERR_BROKER_UNAVAILABLE', message: 'The broker (Redis) is not reachable; nothing was published' },
    });
    // A socket that publishes meanwhile is told, and keeps its connection.
    const talker = await TestClient.open(`${b.wsUrl}/echo`);
    talker.send('still echoing');
    assert.equal(await talker.next(), 'Message text was: still echoing');

    await redis.restart();
    await waitFor(async () => (await readyStatus(a)) === 200 && (await readyStatus(b)) === 200, 15_000, 'readyz 200 again');
    // The subscriber's socket stayed open and its channel was re-subscribed by itself.
    assert.deepEqual((await postJson(`${b.url}/api/publish`, { channel: 'survivor', data: 'after' })).body, { ok: true });
    assert.equal(await subscriber.next(), 'after');
    // A socket's own publish failing while Redis was down gets a typed error frame, not silence.
    await Promise.all([subscriber.close(), talker.close()]);
  });

  test('a socket publishing while Redis is down gets a typed error frame and stays open', async () => {
    const client = await TestClient.open(`${a.wsUrl}/ws/during-outage`);
    await redis.kill();
    await waitFor(async () => (await readyStatus(a)) === 503, 10_000, 'readyz 503');
    client.send('hello?');
    assert.deepEqual(await client.nextJson(), {
      type: 'error',
      code: 'HERALD_ERR_BROKER_UNAVAILABLE',
      message: 'The broker (Redis) is not reachable; nothing was published',
    });
    await redis.restart();
    await waitFor(async () => (await readyStatus(a)) === 200, 15_000, 'readyz 200 again');
    client.send('back');
    assert.equal(await client.next(), 'back');
    await client.close();
  });
});

describe('Redis down at connect time', () => {
  test('a socket that needs a new channel while Redis is down is closed with 1013 at once, and works after Redis returns', async () => {
    const redis = await PrivateRedis.start();
    const server = await spawnHerald({ REDIS_URL: redis.url, HERALD_REDIS_PREFIX: uniquePrefix() });
    try {
      await redis.kill();
      await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, 10_000, 'readyz 503');
      const refused = await TestClient.open(`${server.wsUrl}/ws/new-channel`);
      assert.deepEqual(await refused.closed, { code: 1013, reason: 'The broker (Redis) is not reachable' });
      await redis.restart();
      await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 200, 15_000, 'readyz 200');
      const client = await TestClient.open(`${server.wsUrl}/ws/new-channel`);
      client.send('works');
      assert.equal(await client.next(), 'works');
      await client.close();
    } finally {
      await server.stop();
      await redis.kill();
    }
  });
});
