import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import FindMyWay from 'find-my-way';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConnectionAuthenticator, RouteAuthentication } from '../auth/connection-authenticator.ts';
import { CloseCode, Errors, HeraldError } from '../errors.ts';
import { Connection, type ConnectionContext } from './connection.ts';
import { ConnectionsPerIp } from './connections-per-ip.ts';

/** Runs for each connection a route accepts. Throwing a HeraldError closes with its close code. */
export type SocketHandler = (socket: Connection) => void | Promise<void>;

/**
 * Checks a handshake before it is accepted; returning an error refuses it with that HTTP status
 * (e.g. 403 for a foreign Origin). Refusals a browser must be able to read (a bad token) belong in
 * the route instead: accept, then close with a code, since browsers never see a handshake's status.
 */
export type HandshakeGuard = (request: IncomingMessage) => HeraldError | undefined;

export interface SocketServerOptions {
  context: ConnectionContext;
  /** Largest accepted frame in bytes; larger ones close the socket with 1009. */
  maxPayloadBytes: number;
  /** Ping interval; a peer that has not answered the previous ping by the next one is dropped. */
  heartbeatMs: number;
  /** Runs before every route's handler (auth/connection-authenticator.ts). */
  authenticator: ConnectionAuthenticator;
  /** Open sockets per client IP (0: no limit); more are refused at the handshake with 429. */
  maxConnectionsPerIp: number;
}

/**
 * Per-route settings.
 *
 * @example
 * herald.socket('/public', handler, { authentication: 'optional' });
 */
export interface SocketRouteOptions {
  /** How the route treats tokens; default from configuration (see RouteAuthentication). */
  authentication?: RouteAuthentication;
}

interface RouteEntry {
  handler: SocketHandler;
  authentication: RouteAuthentication | undefined;
}

/**
 * Accepts WebSocket handshakes on the HTTP server's `upgrade` event and hands each accepted socket
 * to the route whose path matches (find-my-way, the router fastify uses: `/ws/:channel`,
 * `/ws/:user_id(^\\d+$)`, static paths first).
 */
export class SocketServer {
  readonly connections = new Set<Connection>();
  readonly #options: SocketServerOptions;
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: false, maxParamLength: 200 });
  readonly #wss: WebSocketServer;
  readonly #guards: HandshakeGuard[] = [];
  /** Process-unique prefix of connection ids, so ids are unique across the cluster. */
  readonly #idPrefix = randomBytes(6).toString('base64url');
  #nextId = 0;
  #closing = false;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #perIp: ConnectionsPerIp;

  constructor(options: SocketServerOptions) {
    this.#options = options;
    this.#perIp = new ConnectionsPerIp(options.maxConnectionsPerIp);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: options.maxPayloadBytes,
    });
  }

  route(path: string, handler: SocketHandler, options: SocketRouteOptions = {}): void {
    const entry: RouteEntry = { handler, authentication: options.authentication };
    this.#router.on('GET', path, () => entry);
  }

  guard(guard: HandshakeGuard): void {
    this.#guards.push(guard);
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(request, socket, head));
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs).unref();
  }

  // No closure that outlives the handshake may be created in this scope: V8 keeps one context
  // per scope, so any long-lived closure here would pin `request` (about 1.5 KB) for the life of
  // the connection. Long-lived closures are made in the small methods below instead.
  #upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', destroySocket);
    if (this.#closing) return refuse(socket, new HeraldError(Errors.SHUTTING_DOWN));
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const match = this.#router.find('GET', path);
    if (match === null) return refuse(socket, new HeraldError(Errors.NOT_FOUND, `No WebSocket route for ${path}`));
    const refusals = this.#options.context.refusals;
    for (const guard of this.#guards) {
      const refusal = guard(request);
      if (refusal !== undefined) {
        const kind = refusal.code === Errors.ORIGIN_NOT_ALLOWED.code ? 'origin-refused' : 'auth-refused';
        refusals.record(kind, { path, origin: request.headers.origin, remoteAddress: socket.remoteAddress }, 'handshake refused');
        return refuse(socket, refusal);
      }
    }
    // Refused before the upgrade: cheaper than accepting, and a client that hits the limit is told
    // by a status it should back off on (the SDK reconnects with backoff after a failed handshake).
    const ip = socket.remoteAddress ?? '';
    if (!this.#perIp.acquire(ip)) {
      refusals.record('too-many-connections', { remoteAddress: ip, limit: this.#options.maxConnectionsPerIp }, 'handshake refused: connections per IP');
      return refuse(socket, new HeraldError(Errors.TOO_MANY_CONNECTIONS));
    }
    this.#releaseOnClose(socket, ip);
    const entry = (match.handler as unknown as () => RouteEntry)();
    const connection = new Connection(
      socket,
      {
        id: `${this.#idPrefix}.${(this.#nextId++).toString(36)}`,
        params: { ...(match.params as Record<string, string>) },
        queryString: queryStart === -1 ? '' : url.slice(queryStart + 1),
        headers: request.headers,
        remoteAddress: socket.remoteAddress ?? '',
      },
      this.#options.context,
    );
    // The route runs before the 101: the socket opens once its subscriptions are live (connection.ts).
    const abandon = (): void => connection.abandon();
    socket.once('close', abandon);
    this.#run(entry, connection).then(() => {
      socket.off('close', abandon);
      if (socket.destroyed) return connection.abandon();
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accepted(connection, ws));
    });
  }

  #releaseOnClose(socket: Socket, ip: string): void {
    socket.on('close', () => this.#perIp.release(ip)); // a socket closes once; on() avoids once()'s wrapper
  }

  #accepted(connection: Connection, ws: WebSocket): void {
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
    connection.attach(ws);
  }

  /**
   * Authenticates the connection, then runs its route; resolves once the subscriptions the route
   * made have settled. A refused connection still completes the handshake, to be closed with 1008
   * and its reason right after the 101 (browsers never see a handshake's status).
   */
  #run(entry: RouteEntry, connection: Connection): Promise<void> {
    const authenticating = this.#options.authenticator.authenticate(connection, entry.authentication);
    if (authenticating === undefined) {
      this.#runHandler(entry.handler, connection);
      return connection.settled();
    }
    return authenticating.then(
      (refusal) => {
        if (refusal !== undefined) connection.fail(refusal);
        else this.#runHandler(entry.handler, connection);
        return connection.settled();
      },
      (error: unknown) => {
        this.#options.context.log.error({ connection: connection.id, err: error }, 'socket authentication failed');
        connection.close(CloseCode.INTERNAL_ERROR, 'internal error');
      },
    );
  }

  #runHandler(handler: SocketHandler, connection: Connection): void {
    const failed = (error: unknown): void => {
      if (error instanceof HeraldError) {
        if (error.closeCode !== undefined) connection.fail(error);
        // A failure of ours (broker down) is worth a retry; a refusal of the request is not.
        else connection.close(error.statusCode >= 500 ? CloseCode.TRY_AGAIN_LATER : CloseCode.POLICY_VIOLATION, error.message.slice(0, 120));
        return;
      }
      this.#options.context.log.error({ connection: connection.id, err: error }, 'socket route failed');
      connection.close(CloseCode.INTERNAL_ERROR, 'internal error');
    };
    try {
      const result = handler(connection);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  #beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        this.#options.context.refusals.record('ping-timeout', { connection: connection.id }, 'no pong since the last ping: connection dropped');
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }

  /**
   * Stops accepting handshakes and closes every socket with 1001 (clients reconnect elsewhere);
   * sockets that have not finished the closing handshake within `timeoutMs` are dropped. Resolves
   * once every socket's close handlers have run (a dropped socket's run a moment after the drop),
   * so that what they start (presence leaves) can be awaited before Redis is closed.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    if (this.connections.size === 0) return;
    const allClosed = new Promise<void>((resolve) => {
      let open = this.connections.size;
      for (const connection of this.connections) {
        connection.onClose(() => {
          if (--open === 0) resolve();
        });
        connection.close(CloseCode.GOING_AWAY, 'server shutting down');
      }
    });
    if (await resolvesWithin(allClosed, timeoutMs)) return;
    for (const connection of this.connections) connection.terminate();
    await resolvesWithin(allClosed, DROP_GRACE_MS);
  }
}

/** How long dropped sockets may take to report their close (it comes within an event-loop turn or two). */
const DROP_GRACE_MS = 200;

/** Whether `promise` resolves within `ms`. */
async function resolvesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function destroySocket(this: Socket): void {
  this.destroy();
}

function refuse(socket: Socket, error: HeraldError): void {
  const body = JSON.stringify({ ok: false, error: error.toJSON() });
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
