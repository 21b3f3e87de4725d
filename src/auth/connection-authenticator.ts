import { Errors, HeraldError } from '../errors.ts';
import type { Connection } from '../transport/connection.ts';
import type { Refusals } from '../transport/refusals.ts';
import { tokenFrom } from './token-source.ts';
import type { TokenVerifier, VerifiedToken } from './token-verifier.ts';

/**
 * How a socket route treats tokens:
 * - `'required'`: a valid token must come with the handshake;
 * - `'optional'`: a token is verified if sent (a bad one is refused); none means anonymous;
 * - `'none'`: tokens are not looked at (routes with their own check, like `/echo/secure`).
 *
 * A route that names none gets `'required'` when JWT authentication is configured and
 * `allowAnonymous` is false, `'optional'` when it is true, and anonymous access when no JWT
 * authentication is configured at all (the open demo).
 */
export type RouteAuthentication = 'required' | 'optional' | 'none';

/** setTimeout's longest delay; later expiries are re-checked when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Authenticates each socket before its route runs, and ends it when its token expires.
 *
 * `authenticate` sets `connection.user` (the token's `sub`) and `connection.claims`, and arms a
 * timer that closes the connection with 4100 (`HERALD_ERR_TOKEN_EXPIRED`) at the token's `exp`,
 * unless `refresh` (called by the /connect protocol's refresh op, as `connection.refreshToken`)
 * brought a newer token first.
 */
export class ConnectionAuthenticator {
  readonly #verifier: TokenVerifier | undefined;
  readonly #allowAnonymous: boolean;
  readonly #refusals: Refusals;
  readonly #expiryTimers = new Map<Connection, NodeJS.Timeout>();

  constructor(verifier: TokenVerifier | undefined, allowAnonymous: boolean, refusals: Refusals) {
    this.#verifier = verifier;
    this.#allowAnonymous = allowAnonymous;
    this.#refusals = refusals;
  }

  /** Whether JWT authentication is configured. */
  get enabled(): boolean {
    return this.#verifier !== undefined;
  }

  /**
   * Authenticates `connection` as `mode` says (the route's, or the configured default). Resolves
   * with the refusal to close it with (with `closeCodeAtConnect`: 1008 unless the failure is the
   * server's, since a client refused at connect should not retry the same token), or undefined when
   * it may proceed; returns undefined at once when there is nothing to verify.
   */
  authenticate(connection: Connection, mode: RouteAuthentication | undefined): Promise<HeraldError | undefined> | undefined {
    const effective = mode ?? (this.#verifier === undefined ? 'none' : this.#allowAnonymous ? 'optional' : 'required');
    // Nothing to verify: answered synchronously, so open routes pay nothing for authentication.
    if (effective === 'none') return undefined;
    if (this.#verifier === undefined) {
      return Promise.resolve(this.#refuse(connection, new HeraldError(Errors.UNAUTHORIZED, 'Authentication is not configured on this server')));
    }
    const token = tokenFrom(connection.headers, connection.query);
    if (token === undefined) {
      if (effective === 'optional') return undefined;
      return Promise.resolve(this.#refuse(connection, new HeraldError(Errors.UNAUTHORIZED, 'Token required')));
    }
    return this.#verifier.verify(token).then(
      (verified) => {
        this.#adopt(connection, verified);
        return undefined;
      },
      (error: unknown) => {
        if (!(error instanceof HeraldError)) throw error;
        return this.#refuse(connection, error);
      },
    );
  }

  /**
   * Replaces the connection's token with `token` (same `sub`), pushing back its expiry; on an
   * anonymous connection it authenticates it. Rejects with a HeraldError (`TOKEN_INVALID`,
   * `TOKEN_EXPIRED`, `UNAUTHORIZED`) and leaves the connection as it was.
   */
  async refresh(connection: Connection, token: string): Promise<void> {
    if (this.#verifier === undefined) throw new HeraldError(Errors.UNAUTHORIZED, 'Authentication is not configured on this server');
    const verified = await this.#verifier.verify(token);
    if (connection.user !== undefined && verified.user !== connection.user) {
      throw new HeraldError(Errors.TOKEN_INVALID, 'Invalid token: it names another user');
    }
    if (!connection.isOpen) return;
    this.#adopt(connection, verified);
  }

  #adopt(connection: Connection, verified: VerifiedToken): void {
    connection.user = verified.user;
    connection.claims = verified.claims;
    connection.tokenExpiresAt = verified.expiresAt;
    this.#armExpiry(connection, verified.expiresAt);
  }

  #armExpiry(connection: Connection, expiresAt: number | undefined): void {
    const previous = this.#expiryTimers.get(connection);
    if (previous !== undefined) clearTimeout(previous);
    if (expiresAt === undefined) {
      this.#expiryTimers.delete(connection);
      return;
    }
    const delay = Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      if (Date.now() < expiresAt) return this.#armExpiry(connection, expiresAt);
      this.#expiryTimers.delete(connection);
      this.#refusals.record('token-expired', { connection: connection.id, user: connection.user }, 'closing connection: token expired');
      connection.fail(new HeraldError(Errors.TOKEN_EXPIRED));
    }, delay);
    timer.unref();
    this.#expiryTimers.set(connection, timer);
    // Registered after the timer is set: on a connection already closed (its handshake abandoned
    // while the token was being verified) the handler runs at once and must find the timer.
    if (previous === undefined) connection.onClose(() => this.#disarm(connection));
  }

  #disarm(connection: Connection): void {
    const timer = this.#expiryTimers.get(connection);
    if (timer !== undefined) clearTimeout(timer);
    this.#expiryTimers.delete(connection);
  }

  #refuse(connection: Connection, error: HeraldError): HeraldError {
    this.#refusals.record('auth-refused', { connection: connection.id, code: error.code, reason: error.message }, 'connection refused');
    // Its close code at connect is decided by closeCodeAtConnect (errors.ts).
    return error;
  }
}
