import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** Whether the hop at `address` is a trusted proxy (the signature fastify's `trustProxy` takes). */
export type TrustedProxyTest = (address: string, hop: number) => boolean;

/**
 * The test for `trustProxy` (addresses and CIDRs), or undefined when no proxy is trusted. Fastify's
 * `request.ip` and the WebSocket handshake share it, so HTTP and sockets agree on who a client is.
 */
export function trustedProxyTest(trustProxy: readonly string[] | undefined): TrustedProxyTest | undefined {
  if (trustProxy === undefined || trustProxy.length === 0) return undefined;
  return proxyAddr.compile([...trustProxy]);
}

/**
 * The address a request came from: the peer's, unless the peer is a trusted proxy; then the
 * rightmost `X-Forwarded-For` hop that is not a trusted proxy. Hops left of it were written by the
 * client and are never believed.
 */
export function clientAddressOf(trusted: TrustedProxyTest | undefined): (request: IncomingMessage) => string {
  if (trusted === undefined) return (request) => request.socket.remoteAddress ?? '';
  return (request) => proxyAddr(request, trusted);
}
