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
 * Messages per second for one connection: a fixed one-second window counted by two numbers kept on
 * the connection (connection.ts), so the per-message cost is a clock read and two compares (no
 * allocation). A fixed window lets a client send up to twice the limit across a window boundary;
 * that is fine for a flood guard. This is the verdict for the `count`-th message of a window.
 */
export function rateVerdict(limit: number, count: number): RateVerdict {
  if (count <= limit) return RateVerdict.ADMIT;
  return count > 2 * limit ? RateVerdict.FLOOD : RateVerdict.REFUSE;
}
