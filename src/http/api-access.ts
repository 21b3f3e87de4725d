import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminTokens } from '../auth/admin-tokens.ts';
import { Errors, HeraldError } from '../errors.ts';

/**
 * How a request to `/api/*` was let in: with the API key, with a JWT carrying the admin claim
 * (both: full access, admin commands included), or as a client on this machine while no API key is
 * set (the HTTP API, not the admin commands).
 */
export type ApiCaller = 'api-key' | 'admin-token' | 'local';

/**
 * Who may call `/api/*`: whoever sends `Authorization: Bearer <API key>`, or a JWT whose admin claim
 * is `true` (HERALD_ADMIN_CLAIM); without an API key, also clients on this machine (so an
 * unconfigured server is not an open relay). "On this machine" is judged by `request.ip`: behind a
 * trusted proxy on this host, the forwarded client's address, not the proxy's loopback one.
 *
 * `trustsProxy` false: a local request that carries X-Forwarded-For is let in (its header is not
 * believed), but it most likely came through a proxy on this host that is not configured as
 * trusted, which lets every client in; that is logged once, as a warning.
 */
export class ApiAccess {
  // Compare digests so the comparison takes the same time whatever the length of the guess.
  readonly #expected: Buffer | undefined;
  readonly #adminTokens: AdminTokens | undefined;
  #warned: boolean;

  constructor(apiKey: string | undefined, trustsProxy: boolean, adminTokens?: AdminTokens) {
    this.#expected = apiKey === undefined ? undefined : sha256(apiKey);
    this.#adminTokens = adminTokens;
    this.#warned = trustsProxy;
  }

  /** Whether admin commands are open: an API key or an admin claim is configured. */
  get adminConfigured(): boolean {
    return this.#expected !== undefined || this.#adminTokens !== undefined;
  }

  /** How `request` may call `/api/*`; rejects with the HeraldError to answer (401, 403, or 503 when a token cannot be checked). */
  async caller(request: FastifyRequest): Promise<ApiCaller> {
    return (await this.#identify(request)).caller;
  }

  async #identify(request: FastifyRequest): Promise<{ caller: ApiCaller; tokenRefusal?: HeraldError }> {
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && this.#expected !== undefined && timingSafeEqual(sha256(bearer), this.#expected)) return { caller: 'api-key' };
    let tokenRefusal: HeraldError | undefined;
    if (bearer !== undefined && this.#adminTokens !== undefined) {
      try {
        await this.#adminTokens.verify(bearer);
        return { caller: 'admin-token' };
      } catch (error) {
        if (!(error instanceof HeraldError)) throw error;
        tokenRefusal = error;
      }
    }
    if (this.#expected === undefined && isLoopback(request.ip)) {
      if (!this.#warned && request.headers['x-forwarded-for'] !== undefined) {
        this.#warned = true;
        request.log.warn(
          'A request with X-Forwarded-For was let into the HTTP API as a local client: behind a reverse proxy, set HERALD_TRUST_PROXY to its address (or set HERALD_API_KEY), or every client of the proxy is let in',
        );
      }
      return { caller: 'local', tokenRefusal };
    }
    if (tokenRefusal !== undefined) throw tokenRefusal;
    if (this.#expected === undefined) {
      throw new HeraldError(Errors.FORBIDDEN, this.#adminTokens === undefined ? 'The HTTP API answers only local clients until HERALD_API_KEY is set' : 'The HTTP API answers only local clients and admin tokens until HERALD_API_KEY is set');
    }
    throw new HeraldError(Errors.UNAUTHORIZED, this.#adminTokens === undefined ? 'Send the API key as "Authorization: Bearer <key>"' : 'Send the API key or an admin token as "Authorization: Bearer <credential>"');
  }

  /** The `/api/*` onRequest hook. */
  readonly hook = async (request: FastifyRequest, _reply?: FastifyReply): Promise<void> => {
    await this.caller(request);
  };

  /**
   * For admin commands: the API key or an admin token, never mere locality (on a shared host every
   * local process, and behind a proxy every client, would be an administrator). 404 while neither is
   * configured, so the routes do not exist until an operator opens them.
   */
  async requireAdmin(request: FastifyRequest): Promise<void> {
    if (!this.adminConfigured) throw new HeraldError(Errors.NOT_FOUND, 'Admin commands are closed: set HERALD_API_KEY or HERALD_ADMIN_CLAIM to open them');
    const { caller, tokenRefusal } = await this.#identify(request);
    if (caller === 'local') {
      if (tokenRefusal !== undefined) throw tokenRefusal;
      throw new HeraldError(Errors.UNAUTHORIZED, 'Admin commands need the API key or an admin token as "Authorization: Bearer <credential>"');
    }
  }
}

/** The `/api/*` access rule as an onRequest hook (see {@link ApiAccess}). */
export function apiAccessHook(apiKey: string | undefined, trustsProxy: boolean, adminTokens?: AdminTokens) {
  return new ApiAccess(apiKey, trustsProxy, adminTokens).hook;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
