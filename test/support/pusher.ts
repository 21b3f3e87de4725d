import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import PusherServerLibrary from 'pusher';
import PusherModule from 'pusher-js';

/** pusher-js's class: its Node build is CommonJS, whose default export the types describe as `.default`. */
export const PusherClient = PusherModule as unknown as typeof PusherModule.default;
export type PusherClient = InstanceType<typeof PusherModule.default>;

export const APP = { id: '1001', key: 'app-key-1', secret: 'app-secret-1', clientEvents: true };
/** A second app on the same server, to show that apps are kept apart. */
export const OTHER_APP = { id: '2002', key: 'app-key-2', secret: 'app-secret-2', clientEvents: false };
/** The master key private-encrypted channels are keyed with (32 bytes, base64): the app's, never the server's. */
export const ENCRYPTION_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

/** The `pusher` server library pointed at Herald, as a backend would configure it. */
export function serverLibrary(url: string, app = APP): PusherServerLibrary {
  const { hostname, port } = new URL(url);
  return new PusherServerLibrary({ appId: app.id, key: app.key, secret: app.secret, host: hostname, port, useTLS: false, encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY });
}

/**
 * An app's auth endpoint, written as a Laravel or Express backend writes it with the `pusher`
 * library: it signs private and presence subscriptions and user sign-ins; the user is the `user`
 * query parameter of the endpoint's URL (a stand-in for the app's session).
 */
export async function startAuthEndpoint(herald: string, app = APP): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const pusher = serverLibrary(herald, app);
  const server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const url = new URL(request.url!, 'http://x');
    const params = new URLSearchParams(body.startsWith('{') ? Object.entries(JSON.parse(body) as Record<string, string>) : body);
    const user = url.searchParams.get('user') ?? 'anonymous';
    const socketId = params.get('socket_id')!;
    response.setHeader('access-control-allow-origin', '*');
    response.setHeader('access-control-allow-headers', '*');
    if (request.method === 'OPTIONS') return response.end();
    let reply: unknown;
    if (url.pathname === '/signin') {
      reply = pusher.authenticateUser(socketId, { id: user, user_info: { name: user.toUpperCase() } });
    } else if (url.pathname === '/forged') {
      reply = { auth: `${app.key}:${'0'.repeat(64)}` };
    } else {
      const channel = params.get('channel_name')!;
      reply = channel.startsWith('presence-') ? pusher.authorizeChannel(socketId, channel, { user_id: user, user_info: { name: user.toUpperCase() } }) : pusher.authorizeChannel(socketId, channel);
    }
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(reply));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** pusher-js (its Node build, unchanged) pointed at Herald: the settings docs/pusher.md gives. */
export function pusherClient(herald: string, options: { authEndpoint?: string; user?: string; app?: typeof APP } = {}): PusherClient {
  const { hostname, port } = new URL(herald);
  const user = options.user === undefined ? '' : `?user=${encodeURIComponent(options.user)}`;
  return new PusherClient((options.app ?? APP).key, {
    cluster: 'herald',
    wsHost: hostname,
    wsPort: Number(port),
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: { endpoint: `${options.authEndpoint ?? 'http://127.0.0.1:1'}/auth${user}`, transport: 'ajax' },
    userAuthentication: { endpoint: `${options.authEndpoint ?? 'http://127.0.0.1:1'}/signin${user}`, transport: 'ajax' },
  });
}

/** Resolves with the first `event` on `target` (a pusher-js client, channel or connection), or rejects after `timeoutMs`. */
export function nextEvent<T = any>(target: { bind(event: string, callback: (...args: any[]) => void): unknown; unbind(event: string, callback: (...args: any[]) => void): unknown }, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.unbind(event, handler);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (data: T): void => {
      clearTimeout(timer);
      target.unbind(event, handler);
      resolve(data);
    };
    target.bind(event, handler);
  });
}

/** Connects and resolves once pusher-js says `connected`. */
export async function connected(client: PusherClient): Promise<PusherClient> {
  if (client.connection.state !== 'connected') await nextEvent(client.connection, 'connected');
  return client;
}

/** Subscribes and resolves with the channel once the server confirmed it. */
export async function subscribed(client: PusherClient, name: string): Promise<ReturnType<PusherClient['subscribe']>> {
  const channel = client.subscribe(name);
  await Promise.race([
    nextEvent(channel, 'pusher:subscription_succeeded'),
    nextEvent(channel, 'pusher:subscription_error', 15_000).then((error) => {
      throw new Error(`subscription to ${name} refused: ${JSON.stringify(error)}`);
    }),
  ]);
  return channel;
}
