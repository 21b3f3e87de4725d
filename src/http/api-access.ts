import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';

/**
 * Who may call `/api/*`: with an API key, whoever sends `Authorization: Bearer <key>`; without
 * one, only clients on this machine (so an unconfigured server is not an open relay).
 */
export function apiAccessHook(apiKey: string | undefined) {
  // Compare digests so the comparison takes the same time whatever the length of the guess.
  const expected = apiKey === undefined ? undefined : sha256(apiKey);
  return async function checkApiAccess(request: FastifyRequest, _reply?: FastifyReply): Promise<void> {
    if (expected === undefined) {
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new HeraldError(Errors.FORBIDDEN, 'The HTTP API answers only local clients until HERALD_API_KEY is set');
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
