import { Errors, type HeraldError } from '../errors.ts';

/**
 * How long a client should wait before retrying a request refused because Redis is unreachable:
 * the Redis broker retries its own connection at least this often (its reconnect delay is capped
 * at 2 s), so a retry sooner could not find it back, and a crowd of clients retrying sooner would
 * only load the server while it recovers. Sent as `retryAfterMs` in the error of the reply.
 */
export const BROKER_RETRY_AFTER_MS = 2000;

/** The `retryAfterMs` advice for an error reply, or undefined when a retry cannot help or needs no wait. */
export function retryAfterMs(error: HeraldError): number | undefined {
  return error.code === Errors.BROKER_UNAVAILABLE.code ? BROKER_RETRY_AFTER_MS : undefined;
}
