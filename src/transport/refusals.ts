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
  | 'ping-timeout'
  | 'bad-handshake'
  | 'handshake-timeout';

/** Log lines per kind per second; more are counted, and summed up in one line later. */
const MAX_LINES_PER_SECOND = 20;

interface LogWindow {
  start: number;
  logged: number;
  suppressed: number;
}

/**
 * Counts and logs each refusal and limit hit, so an operator can see what is being refused and
 * how often (`herald.stats().refusals`, and a `warn` line per event with `refusal: <kind>`).
 *
 * Every event is counted, but a kind logs at most 20 lines a second: past that, the next line of
 * that kind says how many were left out, so a flood of refusals cannot flood the log. Per-message
 * events (a rate-limited message) also pass `quiet`, and the caller logs the first of a burst.
 */
export class Refusals {
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  readonly #log: FastifyBaseLogger;
  readonly #windows = new Map<RefusalKind, LogWindow>();

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  record(kind: RefusalKind, fields: Record<string, unknown>, message: string, quiet = false): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (quiet) return;
    const now = Date.now();
    let window = this.#windows.get(kind);
    if (window === undefined) this.#windows.set(kind, (window = { start: now, logged: 0, suppressed: 0 }));
    if (now - window.start >= 1000) {
      if (window.suppressed > 0) {
        this.#log.warn({ refusal: kind, suppressed: window.suppressed }, `${window.suppressed} more ${kind} refusals were counted but not logged`);
      }
      window.start = now;
      window.logged = 0;
      window.suppressed = 0;
    }
    if (window.logged >= MAX_LINES_PER_SECOND) {
      window.suppressed++;
      return;
    }
    window.logged++;
    this.#log.warn({ refusal: kind, ...fields }, message);
  }
}
