import { Errors, HeraldError } from '../errors.ts';

/** One publish waiting for Redis. */
class PendingPublish<T> {
  readonly expiresAt: number;
  settled = false;
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;

  constructor(expiresAt: number, resolve: (value: T) => void, reject: (error: unknown) => void) {
    this.expiresAt = expiresAt;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  resolve(value: T): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#resolve(value);
    return true;
  }

  reject(error: unknown): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#reject(error);
    return true;
  }
}

/**
 * Answers every publish by its deadline, whatever the Redis client does with the command.
 *
 * ioredis' own `commandTimeout` starts only when a command is written, and with auto-pipelining a
 * command waits unwritten while an earlier pipeline awaits its replies: with Redis paused, the first
 * publishes timed out after 5 s while the rest waited out the whole pause. Here the clock starts
 * when the publish is made. A publish Redis has not confirmed by then may still be executed later
 * (it may be written, or sit in Redis' input buffer), so it is answered PUBLISH_OUTCOME_UNKNOWN,
 * never "not published".
 *
 * Every publish has the same timeout, so deadlines expire in the order publishes were made: one
 * FIFO and one timer serve them all (no timer per publish), and replies, which come back in order on
 * one connection, settle them from the front.
 */
export class PublishDeadlines {
  readonly #timeoutMs: number;
  #pending: Array<PendingPublish<any>> = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** `command`'s outcome, or PUBLISH_OUTCOME_UNKNOWN once the timeout has passed without one. */
  track<T>(command: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = new PendingPublish<T>(Date.now() + this.#timeoutMs, resolve, reject);
      this.#pending.push(pending);
      this.#timer ??= setTimeout(this.#expire, this.#timeoutMs).unref();
      command.then(
        (value) => {
          if (pending.resolve(value)) this.#dropSettled();
        },
        (error: unknown) => {
          if (pending.reject(error)) this.#dropSettled();
        },
      );
    });
  }

  /** Fails what is still waiting (shutdown): its outcome is unknown too. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let i = this.#head; i < this.#pending.length; i++) this.#pending[i]!.reject(outcomeUnknown());
    this.#pending = [];
    this.#head = 0;
  }

  #dropSettled(): void {
    const pending = this.#pending;
    while (this.#head < pending.length && pending[this.#head]!.settled) this.#head++;
    if (this.#head === pending.length) {
      pending.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= pending.length) {
      pending.splice(0, this.#head);
      this.#head = 0;
    }
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    const pending = this.#pending;
    for (let i = this.#head; i < pending.length && pending[i]!.expiresAt <= now; i++) pending[i]!.reject(outcomeUnknown());
    this.#dropSettled();
    if (this.#head < pending.length) this.#timer = setTimeout(this.#expire, pending[this.#head]!.expiresAt - now).unref();
  };
}

function outcomeUnknown(): HeraldError {
  return new HeraldError(Errors.PUBLISH_OUTCOME_UNKNOWN);
}
