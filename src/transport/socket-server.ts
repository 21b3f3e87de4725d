import { randomBytes } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import FindMyWay from 'find-my-way';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConnectionAuthenticator, RouteAuthentication } from '../auth/connection-authenticator.ts';
import { closeCodeAtConnect, CloseCode, Errors, HeraldError, httpErrorBody } from '../errors.ts';
import { Connection, type ConnectionContext } from './connection.ts';
import { ConnectionsPerIp } from './connections-per-ip.ts';
import { handshakeError } from './handshake-check.ts';
import { HandshakeDeadlines } from './handshake-deadlines.ts';

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
  /** The client's address: the peer's, or the forwarded one behind a trusted proxy (client-address.ts). */
  clientAddress: (request: IncomingMessage) => string;
  /** How long a route may take to settle before its handshake is answered 503 and abandoned. */
  handshakeTimeoutMs: number;
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

/** Ticks per heartbeat interval: each pings and checks that share of the connections. */
const HEARTBEAT_SLICES = 25;

type HandshakeSocket = Socket;

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

  /** This process's identity in the cluster: the prefix of its connection ids, also its node id. */
  get idPrefix(): string {
    return this.#idPrefix;
  }
  #nextId = 0;
  #closing = false;
  #heartbeat: NodeJS.Timeout | undefined;
  /** The heartbeat's current round: how far it has got, how many each tick visits, which tick this is (see #beat). */
  #round: Iterator<Connection> = new Set<Connection>().values();
  #perTick = 0;
  #tick = 0;
  readonly #perIp: ConnectionsPerIp;
  readonly #deadlines: HandshakeDeadlines<HandshakeSocket>;
  /**
   * The connection of each handshake not yet accepted, by socket. Kept here rather than as a
   * property of the socket: one more property on a Node socket gives every open socket an
   * out-of-object property array (40 B) that outlives the handshake.
   */
  readonly #pending = new Map<HandshakeSocket, Connection>();
  /** Shared by every handshake socket (no closure per connection): the client went away before the 101. */
  readonly #abandonPending: (this: HandshakeSocket) => void;

  constructor(options: SocketServerOptions) {
    this.#options = options;
    // Every connection shares this context: its close hook does the server's bookkeeping.
    options.context.connectionClosed = (connection) => this.#forget(connection);
    const pending = this.#pending;
    this.#abandonPending = function (this: HandshakeSocket) {
      const connection = pending.get(this);
      pending.delete(this);
      connection?.abandon();
    };
    this.#perIp = new ConnectionsPerIp(options.maxConnectionsPerIp);
    this.#deadlines = new HandshakeDeadlines(options.handshakeTimeoutMs, (socket) => this.#timedOut(socket));
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
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs / HEARTBEAT_SLICES).unref();
  }

  // No closure that outlives the handshake may be created in this scope: V8 keeps one context
  // per scope, so any long-lived closure here would pin `request` (about 1.5 KB) for the life of
  // the connection. Long-lived closures are made in the small methods below instead.
  #upgrade(request: IncomingMessage, socket: HandshakeSocket, head: Buffer): void {
    socket.on('error', destroySocket);
    const refusals = this.#options.context.refusals;
    const invalid = handshakeError(request);
    if (invalid !== undefined) {
      refusals.record('bad-handshake', { method: request.method, remoteAddress: this.#options.clientAddress(request), reason: invalid.message }, 'handshake refused: not a valid WebSocket handshake');
      return refuse(socket, invalid);
    }
    if (this.#closing) return refuse(socket, new HeraldError(Errors.SHUTTING_DOWN));
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    const match = this.#router.find('GET', path);
    if (match === null) return refuse(socket, new HeraldError(Errors.NOT_FOUND, `No WebSocket route for ${path}`));
    for (const guard of this.#guards) {
      const refusal = guard(request);
      if (refusal !== undefined) {
        const kind = refusal.code === Errors.ORIGIN_NOT_ALLOWED.code ? 'origin-refused' : 'auth-refused';
        refusals.record(kind, { path, origin: request.headers.origin, remoteAddress: this.#options.clientAddress(request) }, 'handshake refused');
        return refuse(socket, refusal);
      }
    }
    // Refused before the upgrade: cheaper than accepting, and a client that hits the limit is told
    // by a status it should back off on (the SDK reconnects with backoff after a failed handshake).
    const ip = this.#options.clientAddress(request);
    forgetPeerAddress(socket);
    if (!this.#perIp.acquire(ip)) {
      refusals.record('too-many-connections', { remoteAddress: ip, limit: this.#options.maxConnectionsPerIp }, 'handshake refused: connections per IP');
      return refuse(socket, new HeraldError(Errors.TOO_MANY_CONNECTIONS));
    }
    // From here on the count is given back when the connection closes, whatever ends it (the
    // handshake abandoned or timed out, or the socket closed after the 101): see #forget.
    const entry = (match.handler as unknown as () => RouteEntry)();
    const connection = new Connection(
      socket,
      {
        id: `${this.#idPrefix}.${(this.#nextId++).toString(36)}`,
        params: { ...(match.params as Record<string, string>) },
        queryString: queryStart === -1 ? '' : url.slice(queryStart + 1),
        headers: request.headers,
        remoteAddress: ip,
      },
      this.#options.context,
    );
    // The route runs before the 101: the socket opens once its subscriptions are live (connection.ts).
    // Until ws calls back with the accepted socket, the socket's closing abandons the connection:
    // ws destroys a socket it refuses (or whose client already sent FIN) without calling back.
    this.#pending.set(socket, connection);
    socket.on('close', this.#abandonPending);
    this.#deadlines.add(socket);
    this.#run(entry, connection).then(() => {
      // Not pending any more: answered 503 at the handshake timeout, and abandoned then.
      if (!this.#deadlines.settle(socket)) return;
      if (socket.destroyed) return connection.abandon();
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accepted(socket, connection, ws));
    });
  }

  /** The route did not settle in time (the broker is slow or frozen): answer now, retry later. */
  #timedOut(socket: HandshakeSocket): void {
    const connection = this.#pending.get(socket);
    // Gone already: its close abandoned the connection.
    if (connection === undefined || socket.destroyed) return;
    this.#options.context.refusals.record('handshake-timeout', { connection: connection.id, timeoutMs: this.#options.handshakeTimeoutMs }, 'handshake timed out: route not settled');
    refuse(socket, new HeraldError(Errors.HANDSHAKE_TIMEOUT));
    connection.abandon();
  }

  /** A connection closed (ConnectionContext.connectionClosed): runs once per connection. */
  #forget(connection: Connection): void {
    this.connections.delete(connection);
    this.#perIp.release(connection.remoteAddress);
  }

  #accepted(socket: HandshakeSocket, connection: Connection, ws: WebSocket): void {
    socket.off('close', this.#abandonPending);
    this.#pending.delete(socket);
    // ws has its own error listener on the socket from now on (it destroys the socket too); ours
    // would keep a two-listener array on every open socket.
    socket.off('error', destroySocket);
    // A connection that closed meanwhile has had its close hook (#forget) already: never add it.
    if (connection.attach(ws)) this.connections.add(connection);
    // A handshake that was already under way when shutdown began is closed once it opens.
    if (this.#closing) connection.goAway(0);
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
        if (refusal !== undefined) connection.fail(refusal, closeCodeAtConnect(refusal));
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
      // The error table decides the code: a failure of ours (broker down) is worth a retry, a
      // refusal of the request is not.
      if (error instanceof HeraldError) return connection.fail(error);
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

  /**
   * One slice of the heartbeat: every `heartbeatMs` a round starts, and each of its
   * {@link HEARTBEAT_SLICES} ticks pings (and checks) that share of the connections. Pinging all
   * at once blocked the event loop for one write per socket (about 0.3 s for 15,000 sockets), a
   * pause every publication in flight then waited out. A round visits each connection once, and
   * pings it only if a whole interval has passed since its last ping, so a peer always has at
   * least one interval to answer (and is pinged at least every three); one opened during a round
   * is visited in it or the next, closed ones are skipped (the Set's iterator is live).
   */
  #beat(): void {
    const tick = this.#tick++;
    if (tick % HEARTBEAT_SLICES === 0) {
      this.#round = this.connections.values();
      this.#perTick = Math.ceil(this.connections.size / HEARTBEAT_SLICES);
    }
    for (let left = this.#perTick; left > 0; left--) {
      const next = this.#round.next();
      if (next.done === true) return;
      const connection = next.value;
      // A connection's place in the round moves earlier when others close or the round is sized
      // for more connections than the last: it waits for the next round rather than being pinged
      // (and judged) again before a whole interval has passed.
      if (tick - connection.pingTick < HEARTBEAT_SLICES) continue;
      if (!connection.alive) {
        this.#options.context.refusals.record('ping-timeout', { connection: connection.id }, 'no pong since the last ping: connection dropped');
        connection.terminate();
        continue;
      }
      connection.ping(tick);
    }
  }

  /**
   * Stops accepting handshakes, then closes every socket with 1001 (clients reconnect elsewhere) in
   * batches spread over `drainMs`, so that the processes they come back to are not hit by all of
   * them at once; each gets the reconnect delay that spreads its return over its batch's slot
   * (Connection.goAway). The spread is clamped to {@link DRAIN_SHARE} of `timeoutMs`, leaving the
   * last batch time for its closing handshake. Sockets that have not finished the closing handshake
   * within `timeoutMs` are dropped. Resolves once every socket's close handlers have run (a dropped
   * socket's run a moment after the drop), so that what they start (presence leaves) can be awaited
   * before Redis is closed.
   */
  async close(timeoutMs: number, drainMs = 0): Promise<void> {
    this.#closing = true;
    clearInterval(this.#heartbeat);
    this.#deadlines.close();
    if (this.connections.size === 0) return;
    const sockets = [...this.connections];
    const allClosed = new Promise<void>((resolve) => {
      let open = sockets.length;
      for (const connection of sockets) {
        connection.onClose(() => {
          if (--open === 0) resolve();
        });
      }
    });
    const stopDrain = drain(sockets, Math.max(0, Math.min(drainMs, timeoutMs * DRAIN_SHARE)));
    try {
      if (await resolvesWithin(allClosed, timeoutMs)) return;
    } finally {
      stopDrain();
    }
    for (const connection of this.connections) connection.terminate();
    await resolvesWithin(allClosed, DROP_GRACE_MS);
  }
}

/** The shortest interval between two drain batches. */
const DRAIN_BATCH_MS = 50;
/** The part of the sockets' shutdown time the drain may spread over; the rest is for the last closing handshakes. */
const DRAIN_SHARE = 0.8;

/**
 * Closes `sockets` with 1001 in equal batches every {@link DRAIN_BATCH_MS} over `windowMs` (all at
 * once when 0), each advised to reconnect after a random delay within its batch's slot, so that the
 * reconnects arrive evenly over the window rather than in steps. Returns a function that stops the
 * batches not yet run.
 */
function drain(sockets: Connection[], windowMs: number): () => void {
  const batches = Math.max(1, Math.min(sockets.length, Math.floor(windowMs / DRAIN_BATCH_MS)));
  const slotMs = windowMs / batches;
  const perBatch = Math.ceil(sockets.length / batches);
  let next = 0;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const run = (): void => {
    // Batches due by now (a busy event loop may have delayed this one past the next).
    const due = Math.min(batches, Math.floor((Date.now() - started) / Math.max(1, slotMs)) + 1);
    for (; next < due; next++) {
      for (const connection of sockets.slice(next * perBatch, (next + 1) * perBatch)) connection.goAway(Math.floor(Math.random() * slotMs));
    }
    if (next < batches) timer = setTimeout(run, Math.max(0, started + next * slotMs - Date.now()));
  };
  run();
  return () => clearTimeout(timer);
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

/**
 * Node keeps the peer address object ({ address, family, port }, about 100 bytes) on the socket
 * once it has been read, for the life of the connection; Herald keeps the one string it needs
 * (Connection.remoteAddress) and drops the rest. Should Node ever read it again, it asks the
 * kernel afresh.
 */
function forgetPeerAddress(socket: Socket): void {
  const cached = socket as Socket & { _peername?: unknown };
  // Deleted rather than set to undefined: it is the last property added to the socket, so V8 just
  // steps back to the socket's previous shape, and the socket keeps no out-of-object property array.
  if (cached._peername !== undefined) delete cached._peername;
}

function destroySocket(this: Socket): void {
  this.destroy();
}

function refuse(socket: Socket, error: HeraldError): void {
  const body = JSON.stringify(httpErrorBody(error));
  // Once the answer is out, drop the socket: a client that never closes its side must not keep it.
  socket.on('finish', destroySocket);
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode] ?? ''}\r\n` +
      // RFC 6455 §4.4: a refused version is answered with the versions the server speaks.
      (error.statusCode === 426 ? 'Sec-WebSocket-Version: 13\r\n' : '') +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
