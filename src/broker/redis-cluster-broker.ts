import type { Cluster } from 'ioredis';
import { defaults } from '../config.ts';
import { quitBefore } from '../deadline.ts';
import { connectionName, openCluster, type RedisTarget } from '../engine/redis-connection.ts';
import { clusterKeys } from '../engine/redis-keys.ts';
import { clusterSlot } from '../engine/cluster-slot.ts';
import { Errors, HeraldError } from '../errors.ts';
import { RedisHistory } from '../history/redis-history.ts';
import type { Broker, BrokerHealth, PublicationSink, PublishOptions, PublishResult } from './broker.ts';
import { PublishDeadlines } from './publish-deadlines.ts';
import { notPublished, publishThroughRedis } from './redis-publish.ts';
import { decodeMessage } from './redis-wire.ts';
import { ShardSubscribers } from './shard-subscribers.ts';
import { SubscriptionBatch } from './subscription-batch.ts';

/** How often the slot map is refreshed: a failover is followed within about this after the cluster settles it. */
const SLOTS_REFRESH_MS = 1000;

export interface RedisClusterBrokerOptions {
  target: Extract<RedisTarget, { kind: 'cluster' }>;
  /** Prepended to every Herald channel name to form the shard channel (`herald:` + `news`). */
  prefix: string;
  publishTimeoutMs?: number;
}

/**
 * Sharded Pub/Sub between processes on a Redis Cluster (Redis 7 or newer).
 *
 * Herald channel `news` is shard channel `herald:news`, the same name as on one Redis, and every
 * key of the channel carries it as a hash tag (engine/redis-keys.ts), so the publish script writes
 * history and SPUBLISHes on the one shard that owns the channel. Subscriptions are batched per turn
 * of the event loop as on one Redis (subscription-batch.ts), one SSUBSCRIBE per slot, on one
 * subscriber connection per primary (shard-subscribers.ts).
 *
 * Commands go through ONE cluster client (ioredis `Cluster`: one connection per primary), without
 * an offline queue: while a shard is unreachable a publish to one of its channels fails at once
 * (503) or, if it was written, is answered PUBLISH_OUTCOME_UNKNOWN (504) by the deadline. A
 * command whose connection closed in flight is not sent again to the new primary
 * (`retryDelayOnFailover: 0`): it may have run, and the caller was told so.
 */
export class RedisClusterBroker implements Broker {
  readonly kind = 'redis-cluster' as const;
  readonly history: RedisHistory;
  readonly #prefix: string;
  readonly #commands: Cluster;
  readonly #shards: ShardSubscribers;
  readonly #subscriptions: SubscriptionBatch;
  readonly #deadlines: PublishDeadlines;
  #sink: PublicationSink | undefined;
  /** Refreshes the slot map every second, so a failover is noticed without waiting for an error. */
  readonly #refresher: NodeJS.Timeout;

  constructor(options: RedisClusterBrokerOptions) {
    this.#prefix = options.prefix;
    const publishTimeoutMs = options.publishTimeoutMs ?? defaults.publishTimeoutMs;
    this.#deadlines = new PublishDeadlines(publishTimeoutMs);
    this.#commands = openCluster(
      options.target,
      { connectionName: connectionName('commands', options.prefix), maxRetriesPerRequest: 0, commandTimeout: publishTimeoutMs },
      { enableOfflineQueue: false, retryDelayOnFailover: 0 },
    );
    this.#commands.on('error', () => {});
    this.#commands.on('node error', () => {});
    // The client connects to a node on its first command, and without an offline queue refuses
    // every other command while that connection is being made: connect each primary as soon as the
    // slot map names it, so that a publish finds its shard's connection ready.
    this.#refresher = setInterval(() => {
      if (this.#commands.status === 'ready') this.#commands.refreshSlotsCache();
    }, SLOTS_REFRESH_MS).unref();
    this.#commands.on('refresh', () => {
      if (this.#commands.status !== 'ready') return;
      for (const node of this.#commands.nodes('master')) if (node.status === 'wait') node.ping().catch(() => {});
    });
    const keys = clusterKeys(options.prefix);
    this.history = new RedisHistory(this.#commands, keys, 'cluster-node');
    const prefixLength = options.prefix.length;
    this.#shards = new ShardSubscribers(this.#commands, connectionName('subscriber', options.prefix), (wire, payload) => {
      const channel = wire.slice(prefixLength);
      // Unsubscribed here, not yet on the shard (or held on a node the channel moved away from).
      if (this.#subscriptions.active.has(channel)) this.#sink?.(decodeMessage(channel, payload));
    });
    const prefix = this.#prefix;
    this.#subscriptions = new SubscriptionBatch({
      canSubscribe: (channel) => this.#shards.canSubscribe(prefix + channel),
      add: (channels) => this.#shards.add(channels.map((c) => prefix + c)),
      remove: (channels) => this.#shards.remove(channels.map((c) => prefix + c)),
    });
  }

  async start(sink: PublicationSink): Promise<void> {
    this.#sink = sink;
    await this.#commands.connect();
    await Promise.all(this.#commands.nodes('master').map((node) => node.ping()));
    await this.#shards.start();
  }

  async publish(channel: string, json: string, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.#commands.status !== 'ready' || !this.#shardReady(this.#prefix + channel)) throw notPublished();
    return publishThroughRedis(channel, json, options, { history: this.history, deadlines: this.#deadlines });
  }

  /** Whether the command connection to the primary of `wire`'s slot is up: if not, nothing is sent. */
  #shardReady(wire: string): boolean {
    const owner = this.#commands.slots[clusterSlot(wire)]?.[0];
    if (owner === undefined) return false;
    const node = this.#commands.nodes('master').find((redis) => `${redis.options.host}:${redis.options.port}` === owner);
    return node?.status === 'ready';
  }

  subscribe(channel: string): Promise<void> {
    return this.#subscriptions.subscribe(channel);
  }

  unsubscribe(channel: string): void {
    this.#subscriptions.unsubscribe(channel);
  }

  /** The cluster client, which the engine lends to presence and the node directory. */
  get commands(): Cluster {
    return this.#commands;
  }

  activeChannels(): ReadonlySet<string> {
    return this.#subscriptions.active;
  }

  health(): BrokerHealth {
    const commands = this.#commands.status;
    return { ready: commands === 'ready' && this.#shards.ready(), connections: { commands, ...this.#shards.connections() } };
  }

  async close(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    clearInterval(this.#refresher);
    this.#sink = undefined;
    this.#deadlines.close();
    this.#subscriptions.rejectWaiting(new HeraldError(Errors.SHUTTING_DOWN));
    const subscribers = this.#shards.close();
    await Promise.all([...subscribers.map((redis) => quitBefore(redis, deadline)), quitBefore(this.#commands, deadline)]);
  }
}
