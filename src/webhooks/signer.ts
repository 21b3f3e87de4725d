import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every webhook request carries: `t=<ms since the epoch>,v1=<hex HMAC-SHA256>`. */
export const SIGNATURE_HEADER = 'herald-signature';

/**
 * The signature of one request: HMAC-SHA256 with the endpoint's secret over
 * `<timestamp>.<body>`, so neither the body nor the time can be changed without the secret.
 *
 * @example
 * signatureHeader('a-long-shared-secret', Date.now(), '{"id":"…"}') // 't=1764000000000,v1=5f0c…'
 */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` made within `toleranceMs` of `now`: what a
 * receiver written in TypeScript does (docs/users.md shows it and the Python one).
 */
export function verifySignature(secret: string, header: string, body: string, toleranceMs = 5 * 60_000, now = Date.now()): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isSafeInteger(timestamp) || given === undefined || Math.abs(now - timestamp) > toleranceMs) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}
