import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Broker, BrokerHealth } from '../broker/broker.ts';
import type { NodeDirectory } from '../cluster/node-directory.ts';
import type { Presence } from '../presence/presence.ts';
import type { RunTick, TickDispatcher } from '../schedules/tick-dispatcher.ts';
import type { TaskRegistry } from '../tasks/task-registry.ts';
import type { TaskEventSink, TaskRunner } from '../tasks/task-runner.ts';
import type { RedisKeys } from './redis-keys.ts';

export type EngineKind = 'memory' | 'redis' | 'redis-cluster';

/** What a task runner needs from the server that makes it. */
export interface TaskRunnerNeeds {
  registry: TaskRegistry;
  publish: TaskEventSink;
  log: FastifyBaseLogger;
  stallMs: number;
  maxQueued: number;
}

/** What a tick dispatcher needs from the server that makes it. */
export interface TickDispatcherNeeds {
  run: RunTick;
  log: FastifyBaseLogger;
  stallMs: number;
}

/**
 * Where a Herald server keeps and moves everything that is shared between processes: the broker
 * (with the channels' history), presence, the node directory, the task queue and the schedule tick
 * election. One engine is chosen once from the options (engine-from-options.ts): memory (one
 * process), Redis (one Redis, or the primary Sentinel names) or Redis Cluster; or an application
 * passes its own to `createHerald({ engine })`. Every engine passes one conformance suite
 * (test/broker-conformance.test.ts, test/history-presence-conformance.test.ts).
 *
 * The engine owns its connections: creating one opens none; `broker.start` connects, `close`
 * releases everything. The task runner and tick dispatcher are made on demand, since a process
 * without tasks or schedules needs neither (nor their connections).
 */
export interface Engine {
  readonly kind: EngineKind;
  readonly broker: Broker;
  readonly presence: Presence;
  readonly nodes: NodeDirectory;
  /**
   * The command client, for features that keep state of their own in Redis (undefined for the
   * memory engine). It has no offline queue: a command fails at once while Redis is unreachable.
   * Keys of a channel must be named through `keys.channelKey` so that on a cluster they share the
   * channel's shard.
   */
  readonly redis: Redis | Cluster | undefined;
  /** How channels and keys are named in Redis (undefined for the memory engine). */
  readonly keys: RedisKeys | undefined;
  taskRunner(needs: TaskRunnerNeeds): TaskRunner;
  tickDispatcher(needs: TickDispatcherNeeds): TickDispatcher;
  /**
   * Channels under `prefix` that some process is subscribed to, with how many processes each
   * (the admin search); the memory engine answers undefined (the caller knows its own channels).
   */
  findChannels(prefix: string, limit: number): Promise<Array<[channel: string, processes: number]>> | undefined;
  health(): BrokerHealth;
  /** Releases presence and the broker, by `deadline` (ms since the epoch) whatever Redis does. */
  close(deadline?: number): Promise<void>;
}
