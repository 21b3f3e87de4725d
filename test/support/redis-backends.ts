import { after } from 'node:test';
import type { Cluster, Redis } from 'ioredis';
import { clusterKeys, singleRedisKeys, type RedisKeys } from '../../src/engine/redis-keys.ts';
import { PrivateRedisCluster } from './redis-cluster.ts';
import { deleteKeys, REDIS_URL, redisClient } from './servers.ts';

/** Where a cross-process suite runs its Herald processes: the shared Redis, or a private cluster. */
export interface RedisBackend {
  name: 'redis' | 'redis-cluster';
  /** The environment a spawned server or worker needs to use this backend. */
  env: Record<string, string>;
  /** A client for the test's own assertions (close it with `disconnect()`). */
  client(): Redis | Cluster;
  /** How Herald names keys here. */
  keys(prefix: string): RedisKeys;
  /** Removes what a test left under `prefix`. */
  cleanup(prefix: string): Promise<void>;
}

/**
 * The backends of the cross-process suites: the shared Redis on 6379 and a private Redis Cluster
 * (3 primaries, 3 replicas) started once for the calling test file and stopped at its end, with
 * every key it held.
 */
export async function redisBackends(): Promise<RedisBackend[]> {
  const cluster = await PrivateRedisCluster.start();
  after(() => cluster.stop());
  return [
    { name: 'redis', env: { REDIS_URL }, client: redisClient, keys: singleRedisKeys, cleanup: deleteKeys },
    {
      name: 'redis-cluster',
      env: { REDIS_CLUSTER_NODES: cluster.nodesSetting.join(',') },
      client: () => cluster.client(),
      keys: clusterKeys,
      // The cluster is private to the file and removed at its end.
      cleanup: async () => {},
    },
  ];
}
