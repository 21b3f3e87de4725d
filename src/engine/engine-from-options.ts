import type { ResolvedOptions } from '../config.ts';
import type { Engine } from './engine.ts';
import { MemoryEngine } from './memory-engine.ts';
import { RedisClusterEngine } from './redis-cluster-engine.ts';
import { hostPort } from './redis-connection.ts';
import { RedisEngine } from './redis-engine.ts';

/**
 * The one place the options pick the engine: Redis Cluster with `redisClusterNodes`, Redis behind
 * Sentinel with `redisSentinels`, one Redis with `redisUrl`, memory otherwise (config.ts allows
 * one of the three at most).
 */
export function engineFromOptions(o: ResolvedOptions): Engine {
  const common = { prefix: o.redisPrefix, publishTimeoutMs: o.publishTimeoutMs, presenceTtlMs: o.presenceTtlMs };
  if (o.redisClusterNodes !== undefined) return new RedisClusterEngine({ ...common, target: { kind: 'cluster', nodes: o.redisClusterNodes.map(hostPort) } });
  if (o.redisSentinels !== undefined) {
    return new RedisEngine({ ...common, target: { kind: 'sentinel', sentinels: o.redisSentinels.map(hostPort), name: o.redisSentinelName! } });
  }
  if (o.redisUrl !== undefined) return new RedisEngine({ ...common, target: { kind: 'url', url: o.redisUrl } });
  return new MemoryEngine();
}
