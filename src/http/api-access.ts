import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';

/**
 * Who may call `/api/*`: with an API key, whoever sends `Authorization: Bearer <key>`; without
 * one, only clients on this machine (so an unconfigured server is not an open relay). "On this
 * machine" is judged by `request.ip`: behind a trusted proxy on this host, the forwarded client's
 * address, not the proxy's loopback one.
 *
 * `trustsProxy` false: a local request that carries X-Forwarded-For is let in (its header is not
 * believed), but it most likely came through a proxy on this host that is not configured as
 * trusted, which lets every client in; that is logged once, as a warning.
 */
export function apiAccessHook(apiKey: string | undefined, trustsProxy: boolean) {
  // Compare digests so the comparison takes the same time whatever the length of the guess.
  const expected = apiKey === undefined ? undefined : sha256(apiKey);
  let warned = trustsProxy;
  return async function checkApiAccess(request: FastifyRequest, _reply?: FastifyReply): Promise<void> {
    if (expected === undefined) {
      if (!isLoopback(request.ip)) {
        throw new HeraldError(Errors.FORBIDDEN, 'The HTTP API answers only local clients until HERALD_API_KEY is set');
      }
      if (!warned && request.headers['x-forwarded-for'] !== undefined) {
        warned = true;
        request.log.warn(
          'A request with X-Forwarded-For was let into the HTTP API as a local client: behind a reverse proxy, set HERALD_TRUST_PROXY to its address (or set HERALD_API_KEY), or every client of the proxy is let in',
        );
      }
      return;
    }
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer (.+)$/i.exec(header);
    if (match === null || !timingSafeEqual(sha256(match[1]!), expected)) {
      throw new HeraldError(Errors.UNAUTHORIZED, 'Send the API key as "Authorization: Bearer <key>"');
    }
  };
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
