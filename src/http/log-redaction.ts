import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are credentials and must never reach a log line. */
const SECRET_PARAMETERS = /^(token|access_token|id_token|refresh_token|api_key|apikey|key|secret|password|jwt)$/i;

/**
 * Returns `url` with the value of every credential-looking query parameter replaced by
 * `[REDACTED]`: `/ws/news?token=eyJ...&x=1` → `/ws/news?token=[REDACTED]&x=1`.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const parts = url.slice(queryStart + 1).split('&');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const equals = part.indexOf('=');
    let name = equals === -1 ? part : part.slice(0, equals);
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // A name that is not valid percent-encoding is compared as sent.
    }
    if (equals !== -1 && SECRET_PARAMETERS.test(name)) parts[i] = `${part.slice(0, equals)}=[REDACTED]`;
  }
  return `${url.slice(0, queryStart)}?${parts.join('&')}`;
}

/**
 * The logger's request serializer: what fastify logs for a request by default, minus anything
 * secret. Headers are never logged (Authorization carries the API key, Cookie the token) and the
 * URL's credential parameters are masked.
 */
export const logSerializers = {
  req(request: FastifyRequest): Record<string, unknown> {
    return {
      method: request.method,
      url: redactUrl(request.url),
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  },
};
