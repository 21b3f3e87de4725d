import { Errors, HeraldError } from '../errors.ts';

/** What a batch sends: one call per turn of the event loop with everything that changed in it. */
export interface SubscriptionWire {
  /** Whether a new channel can be subscribed right now (its connection is up). */
  canSubscribe(channel: string): boolean;
  /** Sends the subscription of `channels`; resolves once Redis confirmed them. */
  add(channels: string[]): Promise<void>;
  /** Sends the unsubscription of `channels`; failures are the wire's to absorb. */
  remove(channels: string[]): void;
}

/**
 * A process's broker subscriptions, reference-free (the SubscriberRegistry counts local
 * subscribers) and batched: SUBSCRIBE / UNSUBSCRIBE changes made in one turn of the event loop are
 * reconciled against what Redis already has and sent together, so 1,000 sockets arriving together
 * cost one command per connection (per slot on a cluster), and a subscribe/unsubscribe pair in one
 * turn costs nothing. Shared by the single-Redis and the cluster brokers, which differ only in how
 * a batch goes on the wire.
 */
export class SubscriptionBatch {
  readonly #wire: SubscriptionWire;
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

  constructor(wire: SubscriptionWire) {
    this.#wire = wire;
  }

  /** The channels this process asked Redis for. */
  get active(): ReadonlySet<string> {
    return this.#active;
  }

  subscribe(channel: string): Promise<void> {
    if (this.#active.has(channel)) {
      this.#wanted.add(channel);
      return this.#confirmations.get(channel) ?? Promise.resolve();
    }
    // Refuse a new channel while Redis is unreachable rather than let the socket's handshake wait
    // for however long the outage lasts; the route closes with 1013 and the client retries.
    if (!this.#wire.canSubscribe(channel)) return Promise.reject(new HeraldError(Errors.BROKER_UNAVAILABLE));
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

  /** Rejects every subscribe still waiting (shutdown). */
  rejectWaiting(error: unknown): void {
    for (const [, waiters] of this.#waiters) {
      for (const waiter of waiters) waiter.reject(error);
    }
    this.#waiters.clear();
  }

  #markDirty(channel: string): void {
    this.#dirty.add(channel);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // setImmediate, not nextTick: every socket opened or closed in one poll phase (hundreds
      // when clients come or go together) is then reconciled in one batch.
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
      this.#wire.remove(remove);
    }
    if (add.length > 0) {
      const confirmed = this.#wire.add(add);
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
}
