/**
 * Whether the current connection has proved healthy. A welcome alone proves little: a server whose
 * broker is down still welcomes, then refuses every subscription. So a connection counts as healthy
 * once each subscription sent with the welcome has been answered for good (confirmed, or refused
 * for a reason a retry cannot fix); only then does the reconnect backoff start again from the
 * shortest delay.
 */
export class ConnectionHealth {
  #awaiting: Set<object> | undefined;
  readonly #onHealthy: () => void;

  constructor(onHealthy: () => void) {
    this.#onHealthy = onHealthy;
  }

  /** A welcome arrived; `subscriptions` are being (re)sent on the new connection. */
  welcomed(subscriptions: Iterable<object>): void {
    this.#awaiting = new Set(subscriptions);
    this.#check();
  }

  /** `subscription` was answered for good on this connection, or the app dropped it. */
  settled(subscription: object): void {
    if (this.#awaiting?.delete(subscription)) this.#check();
  }

  /** The connection is gone: nothing is awaited until the next welcome. */
  lost(): void {
    this.#awaiting = undefined;
  }

  #check(): void {
    if (this.#awaiting?.size !== 0) return;
    this.#awaiting = undefined;
    this.#onHealthy();
  }
}
