import type { RedisOptions } from 'ioredis';
import type { BrokerHealth } from '../broker/broker.ts';
import { RedisBroker } from '../broker/redis-broker.ts';
import { RedisNodeDirectory } from '../cluster/redis-node-directory.ts';
import { RedisPresence } from '../presence/redis-presence.ts';
import { DurableTicks } from '../schedules/durable-ticks.ts';
import type { TickDispatcher } from '../schedules/tick-dispatcher.ts';
import { BullMqTaskRunner } from '../tasks/bullmq-runner.ts';
import type { TaskRunner } from '../tasks/task-runner.ts';
import type { Engine, TaskRunnerNeeds, TickDispatcherNeeds } from './engine.ts';
import { connectionName, openRedis, type RedisTarget } from './redis-connection.ts';
import { singleRedisKeys, type RedisKeys } from './redis-keys.ts';

export interface RedisEngineOptions {
  /** A `redis://` URL, or Sentinels and the name of the primary they watch. */
  target: Exclude<RedisTarget, { kind: 'cluster' }>;
  prefix: string;
  publishTimeoutMs: number;
  presenceTtlMs: number;
}

/**
 * One Redis (or the primary a set of Sentinels names). A server process opens two connections
 * for itself: `publisher`, every command (publishes, history, presence, node directory), and
 * `subscriber`, Pub/Sub. Tasks add `tasks` (the queue) and, with task workers, `task-worker` and
 * BullMQ's blocking copy of it; schedules add `schedules`, `schedule-worker` and one blocking copy
 * per schedule (docs/design.md, "Redis connections").
 */
export class RedisEngine implements Engine {
  readonly kind = 'redis' as const;
  readonly broker: RedisBroker;
  readonly presence: RedisPresence;
  readonly nodes: RedisNodeDirectory;
  readonly keys: RedisKeys;
  readonly #options: RedisEngineOptions;

  constructor(options: RedisEngineOptions) {
    this.#options = options;
    this.keys = singleRedisKeys(options.prefix);
    this.broker = new RedisBroker({ target: options.target, prefix: options.prefix, publishTimeoutMs: options.publishTimeoutMs });
    this.presence = new RedisPresence(this.broker.commands, this.keys, options.presenceTtlMs);
    this.nodes = new RedisNodeDirectory(this.broker.commands, this.keys);
  }

  get redis() {
    return this.broker.commands;
  }

  #connect = (role: string, options: RedisOptions) => openRedis(this.#options.target, { ...options, connectionName: connectionName(role, this.#options.prefix) });

  taskRunner(needs: TaskRunnerNeeds): TaskRunner {
    return new BullMqTaskRunner({ ...needs, connect: this.#connect, prefix: this.keys.queuePrefix });
  }

  tickDispatcher(needs: TickDispatcherNeeds): TickDispatcher {
    return new DurableTicks({ ...needs, connect: this.#connect, prefix: this.keys.queuePrefix });
  }

  /** `PUBSUB CHANNELS` and `NUMSUB`: each process has one subscriber connection, so subscribers are processes. */
  async findChannels(prefix: string, limit: number): Promise<Array<[string, number]>> {
    const redis = this.broker.commands;
    const redisPrefix = this.#options.prefix;
    const pattern = (redisPrefix + prefix).replace(/[*?[\]\\]/g, '\\$&') + '*';
    const names = ((await redis.pubsub('CHANNELS', pattern)) as string[]).map((name) => name.slice(redisPrefix.length)).filter((name) => !name.startsWith('#')).sort().slice(0, limit);
    const counts = names.length === 0 ? [] : ((await redis.pubsub('NUMSUB', ...names.map((name) => redisPrefix + name))) as (string | number)[]);
    return names.map((name, index) => [name, Number(counts[index * 2 + 1] ?? 0)]);
  }

  health(): BrokerHealth {
    return this.broker.health();
  }

  async close(deadline?: number): Promise<void> {
    await this.presence.close();
    await this.broker.close(deadline);
  }
}

