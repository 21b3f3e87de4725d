import type { IncomingHttpHeaders } from 'node:http';

/**
 * Finds the token a WebSocket client sent, in this order: `Authorization: Bearer <token>` (servers
 * and native apps), the `token` query parameter, then the `token` cookie (browsers cannot set
 * headers on a WebSocket; a cookie keeps the token out of URLs and proxy logs).
 */
export function tokenFrom(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match !== null) return match[1];
  }
  const fromQuery = query.get('token');
  if (fromQuery !== null && fromQuery !== '') return fromQuery;
  return cookie(headers.cookie, 'token');
}

/** The value of cookie `name` in a `Cookie` header, URI-decoded when it is encoded. */
export function cookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: use it as sent.
    }
    return value === '' ? undefined : value;
  }
  return undefined;
}
