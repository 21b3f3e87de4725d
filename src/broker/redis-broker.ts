import type { Redis, RedisOptions } from 'ioredis';
import { defaults } from '../config.ts';
import { quitBefore } from '../deadline.ts';
import { connectionName, openRedis, type RedisTarget } from '../engine/redis-connection.ts';
import { singleRedisKeys } from '../engine/redis-keys.ts';
import { Errors, HeraldError } from '../errors.ts';
import { RedisHistory } from '../history/redis-history.ts';
import { RedisPublishBatches } from '../history/redis-publish-batch.ts';
import type { Broker, BrokerHealth, PublicationSink, PublishOptions, PublishResult } from './broker.ts';
import { PublishDeadlines } from './publish-deadlines.ts';
import { notPublished, publishThroughRedis } from './redis-publish.ts';
import { decodeMessage } from './redis-wire.ts';
import { SubscriptionBatch } from './subscription-batch.ts';

export interface RedisBrokerOptions {
  /** A `redis://` URL, or a URL or Sentinel target (engine/redis-connection.ts). */
  target: string | Exclude<RedisTarget, { kind: 'cluster' }>;
  /** Prepended to every Herald channel name to form the Redis channel (`herald:` + `news`). */
  prefix: string;
  /** How long a publish waits for Redis' confirmation before it is answered PUBLISH_OUTCOME_UNKNOWN. */
  publishTimeoutMs?: number;
}

/**
 * Redis Pub/Sub between processes, on one Redis (or the primary Sentinel names).
 *
 * Each process holds two connections: one for commands (publish, and the engine lends it to
 * presence and the node directory) and ONE subscriber connection for every channel it has local
 * subscribers of, batched per turn of the event loop (subscription-batch.ts).
 *
 * The publisher has no offline queue: while Redis is down a publish fails at once (and the caller
 * answers 503, nothing published) instead of waiting in memory and arriving late or never. A
 * publish that was written but not confirmed within `publishTimeoutMs` (Redis paused or slow, the
 * connection dropped) is answered PUBLISH_OUTCOME_UNKNOWN by then: it may still be executed. The
 * subscriber re-subscribes every wanted channel after a reconnect (ioredis `autoResubscribe`;
 * behind Sentinel the reconnect goes to the new primary); `health()` reports not ready until both
 * connections are back, so /readyz cannot stay green while Pub/Sub is dead.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly history: RedisHistory;
  readonly #prefix: string;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #deadlines: PublishDeadlines;
  readonly #subscriptions: SubscriptionBatch;

  constructor(options: RedisBrokerOptions) {
    this.#prefix = options.prefix;
    const target = typeof options.target === 'string' ? { kind: 'url' as const, url: options.target } : options.target;
    const publishTimeoutMs = options.publishTimeoutMs ?? defaults.publishTimeoutMs;
    this.#deadlines = new PublishDeadlines(publishTimeoutMs);
    const common: RedisOptions = {
      lazyConnect: true,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    };
    this.#publisher = openRedis(target, {
      ...common,
      connectionName: connectionName('publisher', options.prefix),
      enableOfflineQueue: false,
      // Never replay after a reconnect: the caller has already been answered (503 or 504), and a
      // 503 must stay true.
      maxRetriesPerRequest: 0,
      // A half-open connection would otherwise leave other commands (presence, history reads)
      // waiting forever; publishes have their own deadline from the moment they are made.
      commandTimeout: publishTimeoutMs,
      enableAutoPipelining: true,
      // Publications are batched per turn already, and written at its end rather than a turn later.
      autoPipeliningIgnoredCommands: RedisPublishBatches.commands,
    });
    this.#subscriber = openRedis(target, { ...common, connectionName: connectionName('subscriber', options.prefix), autoResubscribe: true, maxRetriesPerRequest: null });
    // Behind Sentinel a failover may lose the old primary's last writes: see WriterIdentity.
    this.history = new RedisHistory(this.#publisher, singleRedisKeys(options.prefix), target.kind === 'sentinel' ? 'replication-id' : undefined);
    // Errors are reported through health(); without listeners ioredis would print every retry.
    this.#publisher.on('error', () => {});
    this.#subscriber.on('error', () => {});
    const prefix = this.#prefix;
    this.#subscriptions = new SubscriptionBatch({
      canSubscribe: () => this.#subscriber.status === 'ready',
      add: (channels) => this.#subscriber.subscribe(...channels.map((c) => prefix + c)).then(() => undefined),
      remove: (channels) => {
        this.#subscriber.unsubscribe(...channels.map((c) => prefix + c)).catch(() => {
          // The connection is gone; Redis forgets its subscriptions with it, and autoResubscribe
          // follows ioredis' own record, from which these channels were just removed.
        });
      },
    });
  }

  async start(sink: PublicationSink): Promise<void> {
    const prefixLength = this.#prefix.length;
    this.#subscriber.on('message', (redisChannel: string, payload: string) => {
      sink(decodeMessage(redisChannel.slice(prefixLength), payload));
    });
    await Promise.all([this.#publisher.connect(), this.#subscriber.connect()]);
  }

  async publish(channel: string, json: string, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.#publisher.status !== 'ready') throw notPublished();
    return publishThroughRedis(channel, json, options, { history: this.history, deadlines: this.#deadlines });
  }

  subscribe(channel: string): Promise<void> {
    return this.#subscriptions.subscribe(channel);
  }

  unsubscribe(channel: string): void {
    this.#subscriptions.unsubscribe(channel);
  }

  /** The command connection, which the engine lends to presence and the node directory. */
  get commands(): Redis {
    return this.#publisher;
  }

  /** The Herald channels this process is subscribed to in Redis (for tests and /readyz detail). */
  activeChannels(): ReadonlySet<string> {
    return this.#subscriptions.active;
  }

  health(): BrokerHealth {
    const publisher = this.#publisher.status;
    const subscriber = this.#subscriber.status;
    return { ready: publisher === 'ready' && subscriber === 'ready', connections: { publisher, subscriber } };
  }

  async close(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    this.#subscriber.removeAllListeners('message');
    this.#deadlines.close();
    this.#subscriptions.rejectWaiting(new HeraldError(Errors.SHUTTING_DOWN));
    // QUIT only over a working connection, and only until the deadline: a Redis that is down or
    // paused would keep it waiting.
    await Promise.all([this.#publisher, this.#subscriber].map((redis) => quitBefore(redis, deadline)));
  }
}
