import type { RedisOptions } from 'ioredis';
import type { BrokerHealth } from '../broker/broker.ts';
import { RedisClusterBroker } from '../broker/redis-cluster-broker.ts';
import { RedisNodeDirectory } from '../cluster/redis-node-directory.ts';
import { RedisPresence } from '../presence/redis-presence.ts';
import { DurableTicks } from '../schedules/durable-ticks.ts';
import type { TickDispatcher } from '../schedules/tick-dispatcher.ts';
import { BullMqTaskRunner } from '../tasks/bullmq-runner.ts';
import type { TaskRunner } from '../tasks/task-runner.ts';
import type { Engine, TaskRunnerNeeds, TickDispatcherNeeds } from './engine.ts';
import { connectionName, openCluster, type RedisTarget } from './redis-connection.ts';
import { clusterKeys, type RedisKeys } from './redis-keys.ts';

export interface RedisClusterEngineOptions {
  target: Extract<RedisTarget, { kind: 'cluster' }>;
  prefix: string;
  publishTimeoutMs: number;
  presenceTtlMs: number;
}

/**
 * A Redis Cluster (7 or newer). A server process opens, on each primary, one `commands` connection
 * (the cluster client: publishes, history, presence, node directory) and one `subscriber`
 * connection (sharded Pub/Sub); tasks and schedules open cluster clients of their own, as on one
 * Redis (docs/design.md, "Redis connections"). Keys: engine/redis-keys.ts.
 */
export class RedisClusterEngine implements Engine {
  readonly kind = 'redis-cluster' as const;
  readonly broker: RedisClusterBroker;
  readonly presence: RedisPresence;
  readonly nodes: RedisNodeDirectory;
  readonly keys: RedisKeys;
  readonly #options: RedisClusterEngineOptions;

  constructor(options: RedisClusterEngineOptions) {
    this.#options = options;
    this.keys = clusterKeys(options.prefix);
    this.broker = new RedisClusterBroker({ target: options.target, prefix: options.prefix, publishTimeoutMs: options.publishTimeoutMs });
    this.presence = new RedisPresence(this.broker.commands, this.keys, options.presenceTtlMs);
    this.nodes = new RedisNodeDirectory(this.broker.commands, this.keys);
  }

  get redis() {
    return this.broker.commands;
  }

  /**
   * A cluster client for BullMQ. It keeps the cluster's offline queue: without it the client refuses
   * commands while it connects to a node, which it does on the node's first command.
   */
  #connect = (role: string, { enableOfflineQueue: _ignored, ...options }: RedisOptions) =>
    openCluster(this.#options.target, { ...options, connectionName: connectionName(role, this.#options.prefix) });

  taskRunner(needs: TaskRunnerNeeds): TaskRunner {
    return new BullMqTaskRunner({ ...needs, connect: this.#connect, prefix: this.keys.queuePrefix });
  }

  tickDispatcher(needs: TickDispatcherNeeds): TickDispatcher {
    return new DurableTicks({ ...needs, connect: this.#connect, prefix: this.keys.queuePrefix });
  }

  /**
   * `PUBSUB SHARDCHANNELS` and `SHARDNUMSUB` on every primary: each process has one subscriber
   * connection per primary, so the subscribers of a shard channel are processes.
   */
  async findChannels(prefix: string, limit: number): Promise<Array<[string, number]>> {
    const redisPrefix = this.#options.prefix;
    const pattern = (redisPrefix + prefix).replace(/[*?[\]\\]/g, '\\$&') + '*';
    const found: Array<[string, number]> = [];
    await Promise.all(
      this.broker.commands.nodes('master').map(async (node) => {
        const names = ((await node.call('PUBSUB', 'SHARDCHANNELS', pattern)) as string[]).filter((name) => !name.slice(redisPrefix.length).startsWith('#'));
        if (names.length === 0) return;
        const counts = (await node.call('PUBSUB', 'SHARDNUMSUB', ...names)) as (string | number)[];
        names.forEach((name, index) => found.push([name.slice(redisPrefix.length), Number(counts[index * 2 + 1] ?? 0)]));
      }),
    );
    return found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  }

  health(): BrokerHealth {
    return this.broker.health();
  }

  async close(deadline?: number): Promise<void> {
    await this.presence.close();
    await this.broker.close(deadline);
  }
}
