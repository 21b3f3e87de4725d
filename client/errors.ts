/**
 * The server's error table and close codes, the same module the server builds from (never a copy):
 * what each `HERALD_ERR_*` code and close code means and whether to retry after it.
 */
export { CloseCode, Errors as ServerErrors, shouldReconnect, type ErrorDefinition } from '../src/shared/error-table.ts';

/** Codes of errors the SDK raises itself; errors the server sends keep their `HERALD_ERR_*` code. */
export const ClientErrorCode = {
  /** The client is closed (by `close()`, or after a close code that says not to reconnect). */
  CLOSED: 'HERALD_CLIENT_CLOSED',
  /** The connection dropped before the reply came: the request may or may not have taken effect. */
  CONNECTION_LOST: 'HERALD_CLIENT_CONNECTION_LOST',
  /** No reply (or no connection to send the request on) within `requestTimeoutMs`. */
  TIMEOUT: 'HERALD_CLIENT_TIMEOUT',
} as const;

/**
 * Every error the SDK rejects with or emits: `code` is a server `HERALD_ERR_*` code (the server
 * refused the request) or a {@link ClientErrorCode}.
 *
 * @example
 * try { await herald.publish('news', 'hi'); }
 * catch (error) { if (error instanceof HeraldClientError && error.code === 'HERALD_ERR_PERMISSION_DENIED') … }
 */
export class HeraldClientError extends Error {
  readonly code: string;
  /** The WebSocket close code, for errors caused by the connection closing. */
  readonly closeCode: number | undefined;
  /** The server's advice: wait at least this long (ms) before retrying (e.g. with `HERALD_ERR_BROKER_UNAVAILABLE`). */
  readonly retryAfterMs: number | undefined;
  /** For a rejected `publish`: the key it was sent with. Publishing again with it is safe (accepted once). */
  readonly idempotencyKey: string | undefined;

  constructor(code: string, message: string, closeCode?: number, details: { retryAfterMs?: number | undefined; idempotencyKey?: string | undefined } = {}) {
    super(message);
    this.name = 'HeraldClientError';
    this.code = code;
    this.closeCode = closeCode;
    this.retryAfterMs = details.retryAfterMs;
    this.idempotencyKey = details.idempotencyKey;
  }
}
