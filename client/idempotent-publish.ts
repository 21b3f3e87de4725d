import { ClientErrorCode, HeraldClientError } from './errors.ts';
import type { PublishResult } from './protocol.ts';

/**
 * A fresh key for one logical publish: 128 random bits, so two clients never pick the same one
 * within the server's 5-minute window. `crypto.getRandomValues` exists in browsers and Node 20.
 */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return `sdk-${hex}`;
}

/**
 * Sends one logical publish until it is answered, within `timeoutMs` in all. A connection that
 * drops before the reply leaves it unknown whether the server published: the publish is sent again,
 * with the same key, on the next connection, and the server accepts a key once (a repeat replies
 * `duplicate: true`). Every other failure is the caller's to handle; its error carries the key, so
 * the caller can retry safely too.
 *
 * `send(remainingMs)` sends the request (waiting for a connection if need be) and settles with the
 * reply; `retrying()` says whether the client is still trying to connect.
 */
export async function publishIdempotently(
  idempotencyKey: string,
  timeoutMs: number,
  send: (remainingMs: number) => Promise<unknown>,
  retrying: () => boolean,
): Promise<PublishResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await send(Math.max(1, deadline - Date.now()))) as PublishResult;
    } catch (error) {
      if (!(error instanceof HeraldClientError)) throw error;
      const unanswered = error.code === ClientErrorCode.CONNECTION_LOST;
      if (unanswered && retrying() && Date.now() < deadline) continue;
      throw new HeraldClientError(error.code, error.message, error.closeCode, { retryAfterMs: error.retryAfterMs, idempotencyKey });
    }
  }
}
