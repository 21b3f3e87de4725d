/** The part of the WebSocket API the SDK uses: the browser's, Node 22's, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export const OPEN = 1;

/** The WebSocket class to use: the one given, else the global one (browsers, Node >= 22). */
export function resolveWebSocket(given: WebSocketConstructor | undefined): WebSocketConstructor {
  if (given !== undefined) return given;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global === undefined) {
    throw new TypeError('No WebSocket available: in Node 20 import { Herald } from "herald/client/node", or pass the `WebSocket` option');
  }
  return global;
}

/** The URL to open: `url` plus the protocol version and the current token. */
export function connectUrl(url: string, protocol: number, token: string | undefined): string {
  const parsed = new URL(url);
  parsed.searchParams.set('protocol', String(protocol));
  if (token !== undefined) parsed.searchParams.set('token', token);
  return parsed.toString();
}
