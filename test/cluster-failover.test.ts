import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clusterSlot } from '../src/engine/cluster-slot.ts';
import { failoverScenario } from './support/failover-scenario.ts';
import { PrivateRedisCluster } from './support/redis-cluster.ts';
import { uniquePrefix } from './support/servers.ts';

let cluster: PrivateRedisCluster;
before(async () => {
  cluster = await PrivateRedisCluster.start({ nodeTimeoutMs: 1500 });
});
after(() => cluster.stop());

test('a shard primary killed mid-stream: every SDK stream is complete or told recovered:false; every publish answered', async (t) => {
  const prefix = uniquePrefix();
  const channels = Array.from({ length: 100 }, (_, i) => `stream-${i}`);
  const primaries = await cluster.primaries();
  const shards = new Set(await Promise.all(channels.map((channel) => cluster.primaryOf(clusterSlot(prefix + channel)))));
  assert.deepEqual([...shards].sort(), [...primaries].sort(), 'the 100 channels are spread over the 3 shards');
  const victim = await cluster.primaryOf(clusterSlot(prefix + channels[0]!));
  const outcome = await failoverScenario({
    herald: { redisClusterNodes: cluster.nodesSetting, redisPrefix: prefix },
    channels,
    fail: () => cluster.kill(victim),
  });
  t.diagnostic(JSON.stringify(outcome));
  assert.notEqual(await cluster.primaryOf(clusterSlot(prefix + channels[0]!)), victim, 'a replica took over');
  assert.ok(outcome.accepted > 0);
});
