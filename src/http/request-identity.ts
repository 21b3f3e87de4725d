import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../auth/token-verifier.ts';
import { Errors, HeraldError } from '../errors.ts';
import { apiAccessHook } from './api-access.ts';

/**
 * Who sent an HTTP request to one of the app's own routes (outside `/api`):
 * - `open`: the server has no authentication configured (no JWT key, no API key): the open demo;
 * - `api-key`: the request carries the API key, like `/api/*` callers: a trusted backend that may
 *   act for any user;
 * - `user`: a JWT in `Authorization: Bearer`, verified exactly as a socket's token.
 */
export type RequestIdentity = { kind: 'open' } | { kind: 'api-key' } | { kind: 'user'; user: string };

/**
 * Identifies HTTP requests under the server's configuration. Once a JWT key or an API key is
 * configured, a request without valid credentials is refused (401), so an app route cannot be the
 * unauthenticated way around what the sockets enforce. Only the header counts, not the `token`
 * cookie: a cookie rides along on cross-site requests, a header does not.
 */
export class RequestIdentifier {
  readonly #apiAccess: ((request: FastifyRequest, reply?: FastifyReply) => Promise<void>) | undefined;
  readonly #verifier: TokenVerifier | undefined;

  constructor(apiKey: string | undefined, verifier: TokenVerifier | undefined) {
    // Only with a key: without one the API hook lets any local client in, and behind a reverse
    // proxy on the same machine every client is local.
    this.#apiAccess = apiKey === undefined ? undefined : apiAccessHook(apiKey, true);
    this.#verifier = verifier;
  }

  /** Whether requests must identify themselves (a JWT key or an API key is configured). */
  get required(): boolean {
    return this.#apiAccess !== undefined || this.#verifier !== undefined;
  }

  /** Resolves with who sent `request`, or rejects with a HeraldError to answer (401, or 503 when tokens cannot be checked). */
  async identify(request: FastifyRequest): Promise<RequestIdentity> {
    if (!this.required) return { kind: 'open' };
    if (this.#apiAccess !== undefined) {
      try {
        await this.#apiAccess(request);
        return { kind: 'api-key' };
      } catch (error) {
        if (!(error instanceof HeraldError)) throw error;
      }
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (this.#verifier === undefined || bearer === undefined) {
      throw new HeraldError(Errors.UNAUTHORIZED, this.#verifier === undefined ? 'Send the API key as "Authorization: Bearer <key>"' : 'Send a token as "Authorization: Bearer <jwt>" (or the API key)');
    }
    const verified = await this.#verifier.verify(bearer);
    return { kind: 'user', user: verified.user };
  }
}
