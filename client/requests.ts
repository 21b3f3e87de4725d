import { ClientErrorCode, HeraldClientError } from './errors.ts';

type ReplyListener = (result: unknown, error: HeraldClientError | undefined) => void;

interface Pending {
  onReply: ReplyListener | undefined;
  resolve: (result: unknown) => void;
  reject: (error: HeraldClientError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests waiting for their reply, by id; each is settled exactly once (reply, timeout or loss). */
export class PendingRequests {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  /**
   * Registers a request; returns its id and the promise its reply settles. `onReply`, if given, runs
   * synchronously when the reply is read, before any later frame: a subscribe reply must take
   * effect before the publications that follow it on the socket (a promise callback would run only
   * after the rest of the TCP chunk had been read).
   */
  add(timeoutMs: number, onReply?: ReplyListener): { id: number; reply: Promise<unknown> } {
    const id = this.#nextId++;
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new HeraldClientError(ClientErrorCode.TIMEOUT, `No reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { onReply, resolve, reject, timer });
    });
    return { id, reply };
  }

  /** Settles request `id` with the server's reply; unknown ids (already timed out) are ignored. */
  settle(id: unknown, result: unknown, error: { code: string; message: string; retryAfterMs?: unknown } | undefined): void {
    if (typeof id !== 'number') return;
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const retryAfterMs = typeof error?.retryAfterMs === 'number' ? error.retryAfterMs : undefined;
    const failure = error === undefined ? undefined : new HeraldClientError(error.code, error.message, undefined, { retryAfterMs });
    pending.onReply?.(result, failure);
    if (failure !== undefined) pending.reject(failure);
    else pending.resolve(result);
  }

  /** Rejects every waiting request (the connection they were sent on is gone). */
  rejectAll(error: HeraldClientError): void {
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
  }
}
