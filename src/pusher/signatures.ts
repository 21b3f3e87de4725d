import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Errors, HeraldError } from '../errors.ts';
import type { PusherApp } from './pusher-apps.ts';

/**
 * The Pusher protocol's signatures, all HMAC-SHA256 with the app secret, hex:
 * - subscribing to a private or encrypted channel: `auth` = `key:hmac(socket_id:channel)`;
 * - a presence channel: `key:hmac(socket_id:channel:channel_data)`;
 * - signing in a user: `key:hmac(socket_id::user::user_data)`;
 * - an HTTP API request: `auth_signature` = `hmac(METHOD\nPATH\nQUERY)`, where QUERY is every query
 *   parameter but `auth_signature`, sorted by name, as `name=value` joined with `&`.
 */
export function sign(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

/** Whether `auth` (`key:signature`) signs `text` for `app`. */
export function validAuth(app: PusherApp, auth: unknown, text: string): boolean {
  if (typeof auth !== 'string') return false;
  const colon = auth.indexOf(':');
  if (colon === -1 || auth.slice(0, colon) !== app.key) return false;
  return sameText(auth.slice(colon + 1), sign(app.secret, text));
}

/** What a subscription's `auth` must sign: `socket_id:channel`, plus `:channel_data` for presence. */
export function channelAuthText(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

export function userAuthText(socketId: string, userData: string): string {
  return `${socketId}::user::${userData}`;
}

/** How far `auth_timestamp` may be from the server's clock. */
export const TIMESTAMP_WINDOW_SECONDS = 600;

export interface SignedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The body exactly as received (empty for none). */
  body: string;
}

/**
 * Checks an HTTP API request's signature for `app`; throws PUSHER_SIGNATURE_INVALID (or
 * PUSHER_TIMESTAMP_EXPIRED) with what is wrong, since a signature that does not match is a
 * client's configuration to fix.
 */
export function checkRequestSignature(app: PusherApp, request: SignedRequest, nowSeconds = Date.now() / 1000): void {
  const { query } = request;
  if (query.auth_key !== app.key) throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID, 'auth_key is not the key of this app');
  if (query.auth_version !== undefined && query.auth_version !== '1.0') throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID, 'auth_version must be 1.0');
  const timestamp = Number(query.auth_timestamp);
  if (query.auth_timestamp === undefined || !Number.isFinite(timestamp)) throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID, 'auth_timestamp is missing');
  if (Math.abs(nowSeconds - timestamp) > TIMESTAMP_WINDOW_SECONDS) throw new HeraldError(Errors.PUSHER_TIMESTAMP_EXPIRED);
  if (request.body !== '') {
    const md5 = createHash('md5').update(request.body, 'utf8').digest('hex');
    if (query.body_md5 !== md5) throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID, 'body_md5 does not match the body');
  }
  const signature = query.auth_signature;
  if (typeof signature !== 'string') throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID, 'auth_signature is missing');
  const text = `${request.method.toUpperCase()}\n${request.path}\n${canonicalQuery(query)}`;
  if (!sameText(signature, sign(app.secret, text))) throw new HeraldError(Errors.PUSHER_SIGNATURE_INVALID);
}

function canonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .filter((name) => name !== 'auth_signature')
    .map((name) => [name.toLowerCase(), query[name]!] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Constant-time comparison, so a signature cannot be guessed byte by byte from response times. */
function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
