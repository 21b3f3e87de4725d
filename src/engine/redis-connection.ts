import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * How to reach Redis: a `redis://` URL, or ioredis options that name Sentinels and the primary they
 * watch (ioredis asks the Sentinels for the primary, and again after a failover), or the nodes of
 * a Redis Cluster.
 */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; name: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> };

/**
 * Opens one connection to a single Redis (directly or through Sentinel) with `options`. Every
 * connection Herald opens has a name (`options.connectionName`, from connectionName()), so
 * `CLIENT LIST` tells which process and which role holds it.
 */
export function openRedis(target: Exclude<RedisTarget, { kind: 'cluster' }>, options: RedisOptions): Redis {
  if (target.kind === 'url') return new Redis(target.url, options);
  return new Redis({ ...options, sentinels: target.sentinels, name: target.name, sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 1000) });
}

/**
 * A cluster client: it learns the slots from any listed node and refreshes its map of the slots on
 * MOVED replies and lost connections. ioredis' `slotsRefreshInterval` is not used: a client closed
 * while such a refresh is in flight keeps re-arming its timer forever (and the process alive); the
 * broker refreshes its own client on a timer it stops (redis-cluster-broker.ts).
 */
export function openCluster(target: Extract<RedisTarget, { kind: 'cluster' }>, options: RedisOptions, clusterOptions: ClusterOptions = {}): Cluster {
  return new Cluster(target.nodes, {
    lazyConnect: true,
    slotsRefreshTimeout: 1000,
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    ...clusterOptions,
    redisOptions: { ...options, ...clusterOptions.redisOptions },
  });
}

/** `herald-<role>:<prefix>:<pid>`: one process's connection among many, in `CLIENT LIST`. */
export function connectionName(role: string, prefix: string): string {
  return `herald-${role}:${prefix}:${process.pid}`.replace(/\s/g, '_');
}

/** `host:port` (checked by the configuration schema) as ioredis wants it. */
export function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}
