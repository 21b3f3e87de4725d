import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../config.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { HandshakeGuard } from '../transport/socket-server.ts';

/** An origin reduced to what is compared: scheme, lower-case host, and port ('' for the default). */
interface OriginParts {
  scheme: string;
  host: string;
  port: string;
}

/**
 * Refuses WebSocket handshakes from browser origins not on the allowlist (HTTP 403), which stops
 * cross-site WebSocket hijacking: a page elsewhere opening a socket that carries the victim's
 * cookies. Entries are exact origins (`https://app.example.com`, port included when not default)
 * or one-level-or-deeper wildcards (`https://*.example.com`, which does not match the bare
 * `https://example.com`).
 *
 * The Origin header is parsed as a URL and compared by scheme, host and port (default ports
 * normalised), never as text: suffix matching on the raw header let `https://evil.com?.example.com`
 * through. A header that is not a bare origin (user info, path, query or fragment) is refused, since
 * no browser sends one.
 *
 * A handshake without an Origin header is let through: browsers always send one, and any other
 * client could send whatever Origin it liked anyway; tokens, not origins, authenticate.
 */
export function originGuard(allowed: readonly string[]): HandshakeGuard {
  const exact: OriginParts[] = [];
  const wildcards: OriginParts[] = [];
  for (const entry of allowed) {
    const wildcard = /^(https?:\/\/)\*\.(.+)$/i.exec(entry);
    // The `*` label is parsed as a placeholder, then dropped: `host` keeps the leading dot.
    const parts = parseOrigin(wildcard === null ? entry : `${wildcard[1]}wildcard.${wildcard[2]}`);
    if (parts === undefined) throw new ConfigError(`allowedOrigins: ${JSON.stringify(entry)} is not an origin`);
    if (wildcard === null) exact.push(parts);
    else wildcards.push({ ...parts, host: parts.host.slice('wildcard'.length) });
  }
  return (request: IncomingMessage) => {
    const origin = request.headers.origin;
    if (origin === undefined) return undefined;
    const parts = parseOrigin(origin);
    if (parts !== undefined && isAllowed(parts, exact, wildcards)) return undefined;
    return new HeraldError(Errors.ORIGIN_NOT_ALLOWED, `Origin ${origin.slice(0, 100)} may not open WebSockets here`);
  };
}

function isAllowed(origin: OriginParts, exact: readonly OriginParts[], wildcards: readonly OriginParts[]): boolean {
  for (const entry of exact) {
    if (entry.scheme === origin.scheme && entry.host === origin.host && entry.port === origin.port) return true;
  }
  for (const entry of wildcards) {
    // entry.host is `.example.com`: at least one label must come before it.
    if (entry.scheme === origin.scheme && entry.port === origin.port && origin.host.length > entry.host.length && origin.host.endsWith(entry.host)) return true;
  }
  return false;
}

/** The parts of an `http(s)://host[:port]` origin, or undefined for anything else. */
function parseOrigin(text: string): OriginParts | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // URL tolerates what an Origin never has: user info, a path (`\` becomes `/`), a query, a fragment.
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return undefined;
  if (/[/?#@\\]/.test(text.slice(url.protocol.length + 2))) return undefined;
  return { scheme: url.protocol, host: url.hostname, port: url.port };
}
