import type { IncomingMessage } from 'node:http';
import { Errors, HeraldError } from '../errors.ts';

/** Sixteen random bytes in base64 (RFC 6455 §4.1), as `ws` checks it. */
const KEY = /^[+/0-9A-Za-z]{22}==$/;
const WEBSOCKET = /^websocket$/i;

/**
 * What `ws` would refuse in a handshake, checked before any route work. `ws` destroys a socket it
 * refuses without calling back, so a refusal found only there would strand the route's connection;
 * checked here, it costs no route, no subscription and no Redis command, and gets Herald's JSON answer.
 * Returns the refusal, or undefined for a well-formed version-13 handshake.
 */
export function handshakeError(request: IncomingMessage): HeraldError | undefined {
  if (request.method !== 'GET') return new HeraldError(Errors.BAD_HANDSHAKE, `A WebSocket handshake must be a GET request, not ${String(request.method).slice(0, 20)}`);
  const upgrade = request.headers.upgrade;
  if (upgrade === undefined || !WEBSOCKET.test(upgrade)) return new HeraldError(Errors.BAD_HANDSHAKE, 'The Upgrade header must be "websocket"');
  const key = request.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return new HeraldError(Errors.BAD_HANDSHAKE, 'Missing or invalid Sec-WebSocket-Key header');
  if (request.headers['sec-websocket-version'] !== '13') return new HeraldError(Errors.UNSUPPORTED_WEBSOCKET_VERSION);
  return undefined;
}
