import type { IncomingMessage } from 'node:http';
import { Errors, HeraldError } from '../errors.ts';
import type { HandshakeGuard } from '../transport/socket-server.ts';

/**
 * Refuses WebSocket handshakes from browser origins not on the allowlist (HTTP 403), which stops
 * cross-site WebSocket hijacking: a page elsewhere opening a socket that carries the victim's
 * cookies. Entries are exact origins (`https://app.example.com`, port included when not default)
 * or one-level-or-deeper wildcards (`https://*.example.com`, which does not match the bare
 * `https://example.com`).
 *
 * A handshake without an Origin header is let through: browsers always send one, and any other
 * client could send whatever Origin it liked anyway; tokens, not origins, authenticate.
 */
export function originGuard(allowed: readonly string[]): HandshakeGuard {
  const exact = new Set<string>();
  const suffixes: Array<{ scheme: string; suffix: string }> = [];
  for (const entry of allowed) {
    const wildcard = /^(https?:\/\/)\*(\..+)$/.exec(entry.toLowerCase());
    if (wildcard !== null) suffixes.push({ scheme: wildcard[1]!, suffix: wildcard[2]! });
    else exact.add(entry.toLowerCase());
  }
  return (request: IncomingMessage) => {
    const origin = request.headers.origin;
    if (origin === undefined) return undefined;
    const normalized = origin.toLowerCase();
    if (exact.has(normalized)) return undefined;
    for (const { scheme, suffix } of suffixes) {
      if (normalized.startsWith(scheme) && normalized.endsWith(suffix) && normalized.length > scheme.length + suffix.length) {
        const host = normalized.slice(scheme.length);
        if (!host.includes('/')) return undefined;
      }
    }
    return new HeraldError(Errors.ORIGIN_NOT_ALLOWED, `Origin ${origin.slice(0, 100)} may not open WebSockets here`);
  };
}
