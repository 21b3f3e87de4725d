import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installProtocolTestApp, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { postJson, REDIS_URL, redisClient, startHerald, uniquePrefix, type RunningHerald } from './support/servers.ts';

// An idempotency key belongs to one channel: no choice of channel and key may make another
// channel's publication a "duplicate". Run on both brokers, through the protocol and the HTTP API.
const brokers: Array<[string, () => Promise<{ server: RunningHerald; cleanup: () => Promise<void> }>]> = [
  ['memory', async () => ({ server: await startHerald(protocolTestOptions, installProtocolTestApp), cleanup: async () => {} })],
  [
    'redis',
    async () => {
      const prefix = uniquePrefix();
      const server = await startHerald({ ...protocolTestOptions, redisUrl: REDIS_URL, redisPrefix: prefix }, installProtocolTestApp);
      return {
        server,
        cleanup: async () => {
          const redis = redisClient();
          const keys = await redis.keys(`${prefix}*`);
          if (keys.length > 0) await redis.del(...keys);
          redis.disconnect();
        },
      };
    },
  ],
];

for (const [name, make] of brokers) {
  describe(`idempotency keys are per channel: ${name} broker`, () => {
    let server: RunningHerald;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ server, cleanup } = await make());
    });
    after(async () => {
      await server.close();
      await cleanup();
    });

    test('key "sport:k1" on channel "news" does not suppress key "k1" on channel "news:sport" (protocol)', async () => {
      const victim = await ProtocolClient.open(`${server.wsUrl}/connect`);
      const subscribed = await victim.request({ op: 'subscribe', channel: 'news:sport' });
      const attacker = await ProtocolClient.open(`${server.wsUrl}/connect`);
      const planted = await attacker.request({ op: 'publish', channel: 'news', data: 'plant', idempotencyKey: 'sport:k1' });
      assert.equal(planted.result.duplicate, undefined);
      const published = await victim.request({ op: 'publish', channel: 'news:sport', data: 'goal', idempotencyKey: 'k1' });
      assert.deepEqual(published.result, { channel: 'news:sport', offset: 1, epoch: subscribed.result.epoch });
      assert.deepEqual(await victim.push(), { type: 'pub', channel: 'news:sport', offset: 1, epoch: subscribed.result.epoch, data: 'goal' });
      await Promise.all([victim.close(), attacker.close()]);
    });

    test('the same collision through POST /api/publish, on a channel without history', async () => {
      const victim = await ProtocolClient.open(`${server.wsUrl}/connect`);
      await victim.request({ op: 'subscribe', channel: 'plain:a:b' });
      assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'plain:a', data: 'plant', idempotencyKey: 'b:k' })).body, { ok: true });
      assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'plain:a:b', data: 'real', idempotencyKey: 'k' })).body, { ok: true });
      assert.deepEqual(await victim.push(), { type: 'pub', channel: 'plain:a:b', data: 'real' });
      // The key still works on its own channel.
      assert.deepEqual((await postJson(`${server.url}/api/publish`, { channel: 'plain:a:b', data: 'real', idempotencyKey: 'k' })).body, { ok: true, duplicate: true });
      assert.equal(await victim.silentFor(150), true);
      await victim.close();
    });
  });
}
