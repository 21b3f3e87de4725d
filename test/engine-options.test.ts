import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, optionsFromEnv, resolveOptions } from '../src/config.ts';
import { engineFromOptions } from '../src/engine/engine-from-options.ts';

test('the options pick one engine: memory, Redis, Redis behind Sentinel or Redis Cluster', async () => {
  const kinds = [
    {},
    { redisUrl: 'redis://127.0.0.1:6379' },
    { redisSentinels: ['127.0.0.1:26379'], redisSentinelName: 'herald' },
    { redisClusterNodes: ['127.0.0.1:7000', '127.0.0.1:7001'] },
  ].map((options) => engineFromOptions(resolveOptions(options)));
  // Creating an engine opens no connection, so none needs closing here.
  assert.deepEqual(kinds.map((engine) => engine.kind), ['memory', 'redis', 'redis', 'redis-cluster']);
  assert.equal(kinds[0]!.redis, undefined);
  assert.equal(kinds[3]!.keys!.channelKey('news', 'history'), '{herald:news}:history');
  assert.equal(kinds[1]!.keys!.channelKey('news', 'history'), 'herald:history:news');
});

test('Redis settings: one way to reach Redis, a Sentinel name with Sentinels, no braces in a cluster prefix', () => {
  assert.throws(() => resolveOptions({ redisUrl: 'redis://x:1', redisClusterNodes: ['a:1'] }), (error: unknown) => error instanceof ConfigError && /Set only one of redisUrl/.test(error.message));
  assert.throws(() => resolveOptions({ redisSentinels: ['a:1'] }), /needs redisSentinelName/);
  assert.throws(() => resolveOptions({ redisSentinelName: 'herald' }), /needs redisSentinels/);
  assert.throws(() => resolveOptions({ redisClusterNodes: ['a:1'], redisPrefix: '{app}:' }), /must not contain \{ or \}/);
  assert.throws(() => resolveOptions({ redisClusterNodes: ['nohost'] }), /redisClusterNodes must be a list of host:port/);
  assert.deepEqual(optionsFromEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000' }).redisClusterNodes, ['10.0.0.1:7000', '10.0.0.2:7000']);
  assert.throws(() => optionsFromEnv({ REDIS_SENTINELS: '10.0.0.1' }), /REDIS_SENTINELS must be a list of host:port/);
});
