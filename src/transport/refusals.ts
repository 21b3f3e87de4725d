import type { FastifyBaseLogger } from 'fastify';

/** Every kind of refusal or limit Herald enforces; the names appear in logs as `refusal`. */
export type RefusalKind =
  | 'auth-refused'
  | 'token-expired'
  | 'origin-refused'
  | 'permission-denied'
  | 'frame-too-big'
  | 'invalid-utf8'
  | 'binary-frame'
  | 'protocol-error'
  | 'rate-limited'
  | 'message-flood'
  | 'too-many-subscriptions'
  | 'too-many-connections'
  | 'slow-consumer'
  | 'ping-timeout';

/**
 * Counts and logs each refusal and limit hit, so an operator can see what is being refused and
 * how often (`herald.stats().refusals`, and one `warn` line per event with `refusal: <kind>`).
 * Frequent per-message events (a rate-limited message) pass `quiet` to be counted without a log
 * line each; the caller logs the first of a burst.
 */
export class Refusals {
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  readonly #log: FastifyBaseLogger;

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  record(kind: RefusalKind, fields: Record<string, unknown>, message: string, quiet = false): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (!quiet) this.#log.warn({ refusal: kind, ...fields }, message);
  }
}
