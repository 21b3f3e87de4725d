/** What to do with one incoming message. */
export const RateVerdict = {
  ADMIT: 0,
  /** Over the limit: drop it and reply with an error. */
  REFUSE: 1,
  /** Twice over the limit in one window: close the connection. */
  FLOOD: 2,
} as const;
export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/**
 * Messages per second for one connection: a fixed one-second window with two numbers, so the
 * per-message cost is a clock read and two compares (no allocation). A fixed window lets a client
 * send up to twice the limit across a window boundary; that is fine for a flood guard.
 */
export class MessageRate {
  readonly #limit: number;
  #windowStart = 0;
  #count = 0;

  /** `limit` 0 admits everything. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  admit(now: number): RateVerdict {
    if (this.#limit === 0) return RateVerdict.ADMIT;
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    const count = ++this.#count;
    if (count <= this.#limit) return RateVerdict.ADMIT;
    return count > 2 * this.#limit ? RateVerdict.FLOOD : RateVerdict.REFUSE;
  }

  /** Whether the last refused message was the first refusal of its window (worth a log line). */
  get firstRefusal(): boolean {
    return this.#count === this.#limit + 1;
  }
}
