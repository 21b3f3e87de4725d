import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import { defaults } from '../config.ts';
import { quitBefore } from '../deadline.ts';
import { Errors, HeraldError } from '../errors.ts';
import { RedisHistory } from '../history/redis-history.ts';
import type { Broker, BrokerHealth, PublicationSink, PublishOptions, PublishResult } from './broker.ts';
import { PublishDeadlines } from './publish-deadlines.ts';
import { decodeMessage, encodeMessage } from './redis-wire.ts';

export interface RedisBrokerOptions {
  url: string;
  /** Prepended to every Herald channel name to form the Redis channel (`herald:` + `news`). */
  prefix: string;
  /** How long a publish waits for Redis' confirmation before it is answered PUBLISH_OUTCOME_UNKNOWN. */
  publishTimeoutMs?: number;
}

/** ioredis' rejection of a command it did not write (the connection is not ready; no offline queue). */
const NOT_WRITTEN = "Stream isn't writeable";

/**
 * Redis Pub/Sub between processes.
 *
 * Each process holds two connections: one for commands (publish) and ONE subscriber connection for
 * every channel it has local subscribers of. SUBSCRIBE / UNSUBSCRIBE changes made in one turn of the event loop
 * are reconciled against what Redis already has and sent as one command each, so 1,000 sockets
 * arriving together cost one SUBSCRIBE, and a subscribe/unsubscribe pair in one turn costs nothing.
 *
 * The publisher has no offline queue: while Redis is down a publish fails at once (and the caller
 * answers 503, nothing published) instead of waiting in memory and arriving late or never. A
 * publish that was written but not confirmed within `publishTimeoutMs` (Redis paused or slow, the
 * connection dropped) is answered PUBLISH_OUTCOME_UNKNOWN by then: it may still be executed. The
 * subscriber re-subscribes every wanted channel after a reconnect (ioredis `autoResubscribe`);
 * `health()` reports not ready until both connections are back, so /readyz cannot stay green while
 * Pub/Sub is dead.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly history: RedisHistory;
  readonly #prefix: string;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #deadlines: PublishDeadlines;
  /** Channels with local subscribers. */
  readonly #wanted = new Set<string>();
  /** Channels we have asked Redis to send us. */
  readonly #active = new Set<string>();
  /** Channels whose wanted/active state may differ, reconciled at the end of this turn of the event loop. */
  readonly #dirty = new Set<string>();
  /** Subscribe requests waiting for Redis to confirm. */
  readonly #confirmations = new Map<string, Promise<void>>();
  readonly #waiters = new Map<string, Array<{ resolve: () => void; reject: (error: unknown) => void }>>();
  #flushScheduled = false;

  constructor(options: RedisBrokerOptions) {
    this.#prefix = options.prefix;
    const publishTimeoutMs = options.publishTimeoutMs ?? defaults.publishTimeoutMs;
    this.#deadlines = new PublishDeadlines(publishTimeoutMs);
    const common: RedisOptions = {
      lazyConnect: true,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    };
    // Named per process (CLIENT LIST shows `herald-subscriber:<prefix>:<pid>`), so an operator or a
    // test can find one process's connection among many.
    const name = (role: string): string => `herald-${role}:${options.prefix}:${process.pid}`.replace(/\s/g, '_');
    this.#publisher = new Redis(options.url, {
      ...common,
      connectionName: name('publisher'),
      enableOfflineQueue: false,
      // Never replay after a reconnect: the caller has already been answered (503 or 504), and a
      // 503 must stay true.
      maxRetriesPerRequest: 0,
      // A half-open connection would otherwise leave other commands (presence, history reads)
      // waiting forever; publishes have their own deadline from the moment they are made.
      commandTimeout: publishTimeoutMs,
      enableAutoPipelining: true,
    });
    this.#subscriber = new Redis(options.url, { ...common, connectionName: name('subscriber'), autoResubscribe: true, maxRetriesPerRequest: null });
    this.history = new RedisHistory(this.#publisher, options.prefix);
    // Errors are reported through health(); without listeners ioredis would print every retry.
    this.#publisher.on('error', () => {});
    this.#subscriber.on('error', () => {});
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
    const message = encodeMessage(json, { from: options.from, event: options.event });
    try {
      if ((options.history === undefined || options.event !== undefined) && options.idempotencyKey === undefined) {
        return { reached: await this.#deadlines.track(this.#publisher.publish(this.#prefix + channel, message)) };
      }
      const history = options.event === undefined ? options.history : undefined;
      const result = await this.#deadlines.track(this.history.publish(channel, json, message, options.from, history, options.idempotencyKey));
      return { reached: result.reached, ...result.position, ...(result.duplicate ? { duplicate: true } : {}) };
    } catch (error) {
      // The answer must be true: "not published" only when Redis cannot have executed the command.
      if (error instanceof HeraldError) throw error;
      if (error instanceof ReplyError || (error instanceof Error && error.message.startsWith(NOT_WRITTEN))) throw notPublished(error);
      // Written, then no reply: a timeout, or the connection dropped with the command in flight.
      throw new HeraldError(Errors.PUBLISH_OUTCOME_UNKNOWN, undefined, { cause: error });
    }
  }

  subscribe(channel: string): Promise<void> {
    if (this.#active.has(channel)) {
      this.#wanted.add(channel);
      return this.#confirmations.get(channel) ?? Promise.resolve();
    }
    // Refuse a new channel while Redis is unreachable rather than let the socket's handshake wait
    // for however long the outage lasts; the route closes with 1013 and the client retries.
    if (this.#subscriber.status !== 'ready') return Promise.reject(new HeraldError(Errors.BROKER_UNAVAILABLE));
    this.#wanted.add(channel);
    return new Promise((resolve, reject) => {
      let waiters = this.#waiters.get(channel);
      if (waiters === undefined) this.#waiters.set(channel, (waiters = []));
      waiters.push({ resolve, reject });
      this.#markDirty(channel);
    });
  }

  unsubscribe(channel: string): void {
    this.#wanted.delete(channel);
    this.#markDirty(channel);
  }

  /** The command connection, shared with Redis presence. */
  get commands(): Redis {
    return this.#publisher;
  }

  /** The Herald channels this process is subscribed to in Redis (for tests and /readyz detail). */
  activeChannels(): ReadonlySet<string> {
    return this.#active;
  }

  #markDirty(channel: string): void {
    this.#dirty.add(channel);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // setImmediate, not nextTick: every socket opened or closed in one poll phase (hundreds
      // when clients come or go together) is then reconciled in one SUBSCRIBE / UNSUBSCRIBE.
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const add: string[] = [];
    const remove: string[] = [];
    for (const channel of this.#dirty) {
      const wanted = this.#wanted.has(channel);
      if (wanted && !this.#active.has(channel)) add.push(channel);
      else if (!wanted && this.#active.has(channel)) remove.push(channel);
    }
    this.#dirty.clear();
    if (remove.length > 0) {
      for (const channel of remove) {
        this.#active.delete(channel);
        this.#confirmations.delete(channel);
      }
      this.#subscriber.unsubscribe(...remove.map((c) => this.#prefix + c)).catch(() => {
        // The connection is gone; Redis forgets its subscriptions with it, and autoResubscribe
        // follows ioredis' own record, from which these channels were just removed.
      });
    }
    if (add.length > 0) {
      const confirmed = this.#subscriber.subscribe(...add.map((c) => this.#prefix + c)).then(() => undefined);
      for (const channel of add) {
        this.#active.add(channel);
        this.#confirmations.set(channel, confirmed);
        const waiters = this.#waiters.get(channel) ?? [];
        this.#waiters.delete(channel);
        confirmed.then(
          () => {
            if (this.#confirmations.get(channel) === confirmed) this.#confirmations.delete(channel);
            for (const waiter of waiters) waiter.resolve();
          },
          (error: unknown) => {
            if (this.#confirmations.get(channel) === confirmed) {
              this.#confirmations.delete(channel);
              this.#active.delete(channel);
            }
            for (const waiter of waiters) waiter.reject(new HeraldError(Errors.BROKER_UNAVAILABLE, undefined, { cause: error }));
          },
        );
      }
    }
    // Subscribed and unsubscribed within one turn: nothing was sent, and no one is left waiting.
    for (const [channel, waiters] of this.#waiters) {
      if (!this.#wanted.has(channel)) {
        this.#waiters.delete(channel);
        for (const waiter of waiters) waiter.resolve();
      }
    }
  }

  health(): BrokerHealth {
    const publisher = this.#publisher.status;
    const subscriber = this.#subscriber.status;
    return { ready: publisher === 'ready' && subscriber === 'ready', connections: { publisher, subscriber } };
  }

  async close(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    this.#subscriber.removeAllListeners('message');
    this.#deadlines.close();
    for (const [, waiters] of this.#waiters) {
      for (const waiter of waiters) waiter.reject(new HeraldError(Errors.SHUTTING_DOWN));
    }
    this.#waiters.clear();
    // QUIT only over a working connection, and only until the deadline: a Redis that is down or
    // paused would keep it waiting.
    await Promise.all([this.#publisher, this.#subscriber].map((redis) => quitBefore(redis, deadline)));
  }
}

function notPublished(cause?: unknown): HeraldError {
  return new HeraldError(Errors.BROKER_UNAVAILABLE, 'The broker (Redis) is not reachable; nothing was published', { cause });
}
