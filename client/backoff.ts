export interface BackoffOptions {
  /** Upper bound of the first delay, in ms. */
  minDelayMs: number;
  /** Cap of the upper bound, in ms. */
  maxDelayMs: number;
}

/**
 * Full-jitter exponential backoff: a delay drawn uniformly from [0, min(cap, base * 2^attempt)].
 * The randomness spreads a crowd of clients out after a server restart instead of bringing them
 * back in synchronised waves (Phoenix #4045, Django Channels #568).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
