export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  minDelayMs: number;
  /** Cap of the upper bound, in ms. */
  maxDelayMs: number;
}

/**
 * Exponential backoff with "equal" jitter: a delay drawn uniformly from [ceiling / 2, ceiling),
 * where ceiling = min(cap, base * 2^attempt). The random half spreads a crowd of clients out after
 * a server restart instead of bringing them back in synchronised waves (Phoenix #4045, Django
 * Channels #568); the fixed half is what bounds how often one client can try, whatever the dice
 * say: full jitter ([0, ceiling)) can draw near-zero delays many times in a row.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The reconnect delays of one client. The attempt count grows with every failed attempt and starts
 * again only when a connection has proved healthy (`reset()`): a connection that opens and is then
 * dropped because its subscriptions cannot be served (the server's broker is down) is a failed
 * attempt too, or a crowd of clients would reconnect at the shortest delay for as long as the
 * outage lasts. A server's advice (`advise()`) is a floor for the next delay.
 */
export class ReconnectBackoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;
  #advisedMs = 0;
  #instructedMs: number | undefined;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Failed attempts since the last healthy connection. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt (at least what the server advised since the last one), counting one more failure. */
  next(): number {
    const instructed = this.#instructedMs;
    if (instructed !== undefined) {
      this.#instructedMs = undefined;
      // The draw with a zero random part is the fixed half: the least the usual delay can be.
      const floor = backoffDelay(this.#attempt++, this.#options, () => 0);
      const delay = Math.max(instructed, floor, this.#advisedMs);
      this.#advisedMs = 0;
      return delay;
    }
    const delay = Math.max(backoffDelay(this.#attempt++, this.#options, this.#random), this.#advisedMs);
    this.#advisedMs = 0;
    return delay;
  }

  /** The server asked to wait at least `ms` before trying again (an error's `retryAfterMs`). */
  advise(ms: number | undefined): void {
    // A hostile or broken server must not park the client for hours: never beyond the cap.
    if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) this.#advisedMs = Math.max(this.#advisedMs, Math.min(ms, this.#options.maxDelayMs));
  }

  /**
   * The server is closing this connection on purpose (a drain at shutdown) and asks to reconnect
   * after `ms`: the next delay is that (capped) instead of the random backoff, but never less than
   * the backoff's fixed half for this attempt, which is what bounds how often a client can try
   * (docs/client.md, "The bound"); the attempt counts like any other.
   */
  instruct(ms: number | undefined): void {
    if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0) this.#instructedMs = Math.min(Math.floor(ms), this.#options.maxDelayMs);
  }

  /**
   * The connection proved healthy: the next failure starts again from the shortest delay. A
   * server's instruction stands (a drain may tell a healthy connection when to come back), unless
   * `forgetInstruction` (a fresh `connect()`).
   */
  reset(forgetInstruction = false): void {
    this.#attempt = 0;
    this.#advisedMs = 0;
    if (forgetInstruction) this.#instructedMs = undefined;
  }
}
