import { after } from 'node:test';
import type { Engine } from '../../src/engine/engine.ts';
import { MemoryEngine } from '../../src/engine/memory-engine.ts';
import { RedisClusterEngine } from '../../src/engine/redis-cluster-engine.ts';
import { hostPort } from '../../src/engine/redis-connection.ts';
import { RedisEngine } from '../../src/engine/redis-engine.ts';
import { PrivateRedisCluster } from './redis-cluster.ts';
import { PrivateSentinels } from './redis-sentinel.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './servers.ts';

export interface EngineUnderTest {
  name: 'memory' | 'redis' | 'redis-sentinel' | 'redis-cluster';
  /** A new engine on its own key prefix (presence TTL `presenceTtlMs`). */
  make(presenceTtlMs?: number): Engine;
}

/**
 * Every engine, for the conformance suites: memory, the shared Redis (a unique prefix per engine,
 * its keys deleted at the end), a private Redis behind Sentinel and a private Redis Cluster, both
 * started once for the calling test file (stopped at its end).
 */
export async function engines(): Promise<EngineUnderTest[]> {
  const [cluster, sentinels] = await Promise.all([PrivateRedisCluster.start(), PrivateSentinels.start()]);
  const prefixes: string[] = [];
  after(async () => {
    await Promise.all([cluster.stop(), sentinels.stop()]);
    for (const prefix of prefixes) await deleteKeys(prefix);
  });
  const options = (presenceTtlMs: number) => ({ prefix: uniquePrefix(), publishTimeoutMs: 5000, presenceTtlMs });
  return [
    { name: 'memory', make: () => new MemoryEngine() },
    {
      name: 'redis',
      make: (presenceTtlMs = 25_000) => {
        const o = options(presenceTtlMs);
        prefixes.push(o.prefix);
        return new RedisEngine({ ...o, target: { kind: 'url', url: REDIS_URL } });
      },
    },
    {
      name: 'redis-sentinel',
      make: (presenceTtlMs = 25_000) =>
        new RedisEngine({ ...options(presenceTtlMs), target: { kind: 'sentinel', sentinels: sentinels.sentinelsSetting.map(hostPort), name: PrivateSentinels.NAME } }),
    },
    { name: 'redis-cluster', make: (presenceTtlMs = 25_000) => new RedisClusterEngine({ ...options(presenceTtlMs), target: { kind: 'cluster', nodes: cluster.nodesSetting.map(hostPort) } }) },
  ];
}
