/**
 * Times out handshakes whose route has not settled (its subscriptions unconfirmed, e.g. while Redis
 * is frozen), with one timer for all of them rather than one per handshake: every handshake gets
 * the same timeout, so the insertion order of the map is the order of the deadlines, and the timer
 * only ever waits for the oldest.
 */
export class HandshakeDeadlines<T> {
  readonly #timeoutMs: number;
  readonly #expired: (item: T) => void;
  /** Pending items and their deadlines (ms since the epoch), oldest first. */
  readonly #pending = new Map<T, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number, expired: (item: T) => void) {
    this.#timeoutMs = timeoutMs;
    this.#expired = expired;
  }

  add(item: T): void {
    this.#pending.set(item, Date.now() + this.#timeoutMs);
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
  }

  /** Ends the wait for `item`; false when it had already expired (and `expired` was called). */
  settle(item: T): boolean {
    return this.#pending.delete(item);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(this.#sweep, delayMs);
    this.#timer.unref();
  }

  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    for (const [item, deadline] of this.#pending) {
      if (deadline > now) return this.#arm(deadline - now);
      this.#pending.delete(item);
      this.#expired(item);
    }
  };
}
