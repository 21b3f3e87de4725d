import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket } from 'ws';
import type { PublishResult } from '../broker/broker.ts';
import { assertChannelName } from '../channels/channel-name.ts';
import type { Publication } from '../channels/publication.ts';
import type { PublishExtras, Publisher } from '../channels/publisher.ts';
import type { Subscriber, SubscriberRegistry } from '../channels/subscriber-registry.ts';
import { CloseCode, errorFrame, Errors, HeraldError } from '../errors.ts';
import { encodeTextFrame } from './frame.ts';
import { rateVerdict, RateVerdict } from './message-rate.ts';
import type { Refusals } from './refusals.ts';
import { afterFlush, writeCorked } from './write-batch.ts';

/** What every connection shares: the channels, the publisher, the logger and the limits. */
export interface ConnectionContext {
  registry: SubscriberRegistry;
  publisher: Publisher;
  log: FastifyBaseLogger;
  /** Unsent bytes a socket may hold before it is closed as a slow consumer (1013). */
  maxBacklogBytes: number;
  /** Text frames per second a socket may send (0: no limit); see message-rate.ts. */
  maxMessagesPerSecond: number;
  /** Channels a socket may be subscribed to at once. */
  maxSubscriptions: number;
  refusals: Refusals;
  /** Verifies a replacement token for `connection.refreshToken` (auth/connection-authenticator.ts). */
  tokens: { refresh(connection: Connection, token: string): Promise<void> };
  /**
   * Set by the SocketServer: its bookkeeping once a connection has closed (the connection set, the
   * per-IP count), after the route's close handlers. One hook shared by every connection instead
   * of two closures per connection: idle memory per connection is a headline number.
   */
  connectionClosed?: ((connection: Connection) => void) | undefined;
}

/** The reply to a message dropped by the rate limit: the same bytes every time, built once. */
const RATE_LIMITED_FRAME = encodeTextFrame(JSON.stringify(errorFrame(Errors.RATE_LIMITED)));

export interface ConnectionInit {
  id: string;
  params: Record<string, string>;
  /** The query string without its `?` (parsed on first use of `connection.query`). */
  queryString: string;
  headers: IncomingHttpHeaders;
  remoteAddress: string;
}

export interface SubscribeOptions {
  /** Whether this socket receives what it publishes itself to the channel. Default true. */
  echo?: boolean;
  /**
   * Delivers the channel's publications instead of the default raw frames (the /connect protocol
   * uses its own, which picks the protocol frame form and handles recovery). `echo` is then ignored.
   */
  subscriber?: Subscriber;
  /** Allows server-internal `#` channels (per-user inboxes). Never set for a client-supplied name. */
  reserved?: boolean;
}

/**
 * Handles one text frame. `socket` is the connection it came on: a handler shared by every
 * connection of a route (no closure per socket) finds it there.
 */
type MessageHandler = (text: string, socket: Connection) => unknown;

/** Byte counts are compared modulo 2^30, so they stay small integers on a long-lived socket. */
const BYTES_READ_MASK = 0x3fffffff;

/** What a connection holds only until its handshake completes (Connection.#opening). */
interface OpeningState {
  frames?: Buffer[] | undefined;
  subscriptions?: Promise<void>[] | undefined;
  close?: { code: number; reason: string } | undefined;
}
const kConnection = Symbol('herald.connection');
type TaggedWebSocket = WebSocket & { [kConnection]?: Connection };
type CloseHandler = (code: number, reason: string) => void;

/**
 * One WebSocket, as a socket route sees it: send to it, subscribe it to channels, publish as it,
 * and hear what it says.
 *
 * A connection exists from the moment its route is chosen, before the handshake completes: the
 * route's handler runs first, and the 101 response is sent only once the subscriptions it made have
 * been confirmed by the broker. So a client whose socket is open is already subscribed and misses
 * nothing published after that. Frames sent during that time wait and go out right after the 101.
 *
 * Publications are written as prebuilt frames straight to the TCP socket, corked per tick (see
 * write-batch.ts); `ws` still parses what the client sends and handles ping, pong and close.
 */
export class Connection {
  readonly id: string;
  /** Path parameters of the route, e.g. `{ channel: 'news' }` for `/ws/:channel`. */
  readonly params: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  /** Set by authentication: the user this connection belongs to (the token's `sub`); undefined = anonymous. */
  user: string | undefined;
  /** Set by authentication: the verified token's claims (channel permissions may look at them). */
  claims: Readonly<Record<string, unknown>> | undefined;
  /** Set by authentication: when the token expires (ms since the epoch); the socket closes then unless refreshed. */
  tokenExpiresAt: number | undefined;
  /**
   * The socket's byte count when the heartbeat last pinged (kept to 30 bits, a small integer): a
   * pong, or anything else the client sent since, moves it. Read from the socket rather than set by
   * a 'pong' listener: a fourth listener doubles the size of ws' listener table on every socket
   * (96 B per idle connection).
   */
  #readAtPing = -1;
  /** The heartbeat tick of the last ping (see SocketServer#beat); none yet: far in the past. */
  #pingTick = -1_000_000;

  readonly #socket: Socket;
  readonly #context: ConnectionContext;
  #ws: WebSocket | undefined;
  #state: 'opening' | 'open' | 'closed' = 'opening';
  /**
   * While opening: frames to send after the 101, subscriptions to wait for, a close to apply. One
   * field for the three, dropped once open: idle memory per connection is a headline number.
   */
  #opening: OpeningState | undefined;
  /**
   * The first subscription lives in two fields and only the others in a Map: most sockets (every
   * `/ws/...` route) hold exactly one, and an empty Map costs an idle connection about 200 bytes.
   */
  #firstChannel: string | undefined;
  #firstSubscriber: Subscriber | undefined;
  #moreSubscriptions: Map<string, Subscriber> | undefined;
  #onMessage: MessageHandler | undefined;
  /** Messages that arrived before the route registered its handler. */
  #early: string[] | undefined;
  #closeHandlers: CloseHandler[] | undefined;
  /** Says goodbye before a drain closes the socket (the /connect `disconnect` push). */
  #goingAway: ((reconnectAfterMs: number) => void) | undefined;
  /** The query string until `query` is first read, then its parsed form (one field for both). */
  #query: string | URLSearchParams;
  /** The message-rate window (see message-rate.ts), kept inline: one less object per connection. */
  #rateWindowStart = 0;
  #rateCount = 0;

  constructor(socket: Socket, init: ConnectionInit, context: ConnectionContext) {
    this.#socket = socket;
    this.#context = context;
    this.id = init.id;
    this.params = init.params;
    this.#query = init.queryString;
    this.headers = init.headers;
    this.remoteAddress = init.remoteAddress;
  }

  /** The handshake URL's query parameters (parsed on first use: most connections never ask). */
  get query(): URLSearchParams {
    if (typeof this.#query === 'string') this.#query = new URLSearchParams(this.#query);
    return this.#query;
  }

  /** True once the socket has closed (or its handshake was abandoned); false while opening and open. */
  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** True once the handshake has completed and until the socket closes. */
  get isOpen(): boolean {
    return this.#state === 'open' && this.#ws!.readyState === WebSocket.OPEN;
  }

  /** Sends `data`: a string as its text, any other value as JSON. */
  send(data: unknown): void {
    this.sendFrame(encodeTextFrame(typeof data === 'string' ? data : JSON.stringify(data)));
  }

  /** Sends a prebuilt frame (shared by every receiver of one publication). */
  sendFrame(frame: Buffer): void {
    if (this.#state === 'opening') {
      ((this.#opening ??= {}).frames ??= []).push(frame);
      return;
    }
    if (this.#ws === undefined || this.#ws.readyState !== WebSocket.OPEN) return;
    writeCorked(this.#socket, frame, this);
  }

  /** After each flush: what the kernel did not take is what the client has not read. */
  [afterFlush](): void {
    if (this.#socket.writableLength > this.#context.maxBacklogBytes && this.isOpen) this.#closeSlowConsumer();
  }

  /** Subscribes this socket to `channel`; resolves once publications on it will arrive. */
  subscribe(channel: string, options: SubscribeOptions = {}): Promise<void> {
    if (!(options.reserved === true && channel.startsWith('#'))) assertChannelName(channel);
    if (this.#state === 'closed') return Promise.resolve();
    if (channel === this.#firstChannel || this.#moreSubscriptions?.has(channel) === true) return Promise.resolve();
    if (options.reserved !== true && this.#clientSubscriptionCount() >= this.#context.maxSubscriptions) {
      this.#context.refusals.record('too-many-subscriptions', { connection: this.id, channel }, 'subscription refused: limit reached');
      throw new HeraldError(Errors.TOO_MANY_SUBSCRIPTIONS, `At most ${this.#context.maxSubscriptions} subscriptions per connection`);
    }
    const subscriber = options.subscriber ?? (options.echo === false ? new NoEchoSubscriber(this) : new RawSubscriber(this));
    if (this.#firstChannel === undefined) {
      this.#firstChannel = channel;
      this.#firstSubscriber = subscriber;
    } else {
      (this.#moreSubscriptions ??= new Map()).set(channel, subscriber);
    }
    const subscribed = this.#context.registry.add(channel, subscriber);
    if (this.#state === 'opening') ((this.#opening ??= {}).subscriptions ??= []).push(subscribed);
    return subscribed;
  }

  /**
   * Subscriptions that count against the limit: the server's own reserved `#` channels (a user's
   * inbox) do not, so a limit of N leaves the client N. Reserved ones are looked for only when the
   * total reaches the limit, so an ordinary subscribe pays nothing for it.
   */
  #clientSubscriptionCount(): number {
    const total = (this.#firstChannel === undefined ? 0 : 1) + (this.#moreSubscriptions?.size ?? 0);
    if (total < this.#context.maxSubscriptions) return total;
    let reserved = this.#firstChannel?.startsWith('#') === true ? 1 : 0;
    for (const channel of this.#moreSubscriptions?.keys() ?? []) if (channel.startsWith('#')) reserved++;
    return total - reserved;
  }

  unsubscribe(channel: string): void {
    let subscriber: Subscriber | undefined;
    if (channel === this.#firstChannel) {
      subscriber = this.#firstSubscriber;
      this.#firstChannel = this.#firstSubscriber = undefined;
    } else {
      subscriber = this.#moreSubscriptions?.get(channel);
      this.#moreSubscriptions?.delete(channel);
    }
    if (subscriber !== undefined) this.#context.registry.remove(channel, subscriber);
  }

  /** Publishes `data` to `channel` as this connection (so no-echo subscriptions skip it). */
  publish(channel: string, data: unknown, extras?: PublishExtras): Promise<PublishResult> {
    return this.#context.publisher.publish(channel, data, this.id, extras);
  }

  /**
   * Replaces this connection's token with a newer one for the same user, so that it is not closed
   * when the old one expires (the /connect protocol's refresh op calls this). On an anonymous
   * connection it authenticates it. Rejects with a HeraldError and changes nothing if the token is
   * invalid, expired or names another user.
   *
   * @example
   * socket.onMessage(async (token) => {
   *   await socket.refreshToken(token); // a refusal becomes an error frame
   *   socket.send({ refreshed: true });
   * });
   */
  refreshToken(token: string): Promise<void> {
    return this.#context.tokens.refresh(this, token);
  }

  /** Handles each text frame the client sends. Frames that arrived earlier are handed over first. */
  onMessage(handler: MessageHandler): void {
    this.#onMessage = handler;
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) for (const text of early) this.#handle(text);
  }

  /**
   * Runs `handler` when the connection closes; at once if it already has (a route still running
   * when its handshake was abandoned), so that no route's cleanup is ever skipped.
   */
  onClose(handler: CloseHandler): void {
    if (this.#state === 'closed') handler(1006, 'closed before the handler was registered');
    else (this.#closeHandlers ??= []).push(handler);
  }

  /**
   * Runs `handler` just before shutdown closes this socket with 1001, with the delay the client
   * is advised to wait before reconnecting (the /connect route sends it as a `disconnect` push).
   */
  onGoingAway(handler: (reconnectAfterMs: number) => void): void {
    this.#goingAway = handler;
  }

  /** Shutdown: tells the route (which may tell the client when to come back), then closes with 1001. */
  goAway(reconnectAfterMs: number): void {
    if (this.isOpen) this.#goingAway?.(reconnectAfterMs);
    this.close(CloseCode.GOING_AWAY, 'server shutting down');
  }

  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.#state === 'opening') {
      (this.#opening ??= {}).close ??= { code, reason };
      return;
    }
    const ws = this.#ws;
    if (ws !== undefined && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) ws.close(code, reason);
  }

  /** Closes with the close code (the error's own unless given) and message of a Herald error. */
  fail(error: HeraldError, closeCode = error.closeCode): void {
    this.close(closeCode, error.message.slice(0, 120));
  }

  /** Whether the client has sent anything (a pong, a frame) since the heartbeat's last ping. */
  get alive(): boolean {
    return (this.#socket.bytesRead & BYTES_READ_MASK) !== this.#readAtPing;
  }

  /** The heartbeat tick `ping` was last called with. */
  get pingTick(): number {
    return this.#pingTick;
  }

  /** Sends a ping; called by the server's heartbeat at `tick`, which drops the connection if it is not `alive` by the next one. */
  ping(tick: number): void {
    this.#pingTick = tick;
    this.#readAtPing = this.#socket.bytesRead & BYTES_READ_MASK;
    if (this.isOpen) this.#ws!.ping();
  }

  /** Drops the TCP connection without a closing handshake. */
  terminate(): void {
    if (this.#ws !== undefined) this.#ws.terminate();
    else this.#socket.destroy();
  }

  /** Resolves when the subscriptions made so far by the route are confirmed (or failed). */
  async settled(): Promise<void> {
    let pending: Promise<void>[] | undefined;
    while ((pending = this.#opening?.subscriptions) !== undefined && pending.length > 0) {
      this.#opening!.subscriptions = [];
      await Promise.allSettled(pending);
    }
    if (this.#opening !== undefined) this.#opening.subscriptions = undefined;
  }

  /**
   * Completes the handshake: from now on frames go to `ws`'s socket. Called by the SocketServer.
   * False (and `ws` dropped) when the connection closed meanwhile.
   */
  attach(ws: WebSocket): boolean {
    if (this.#state !== 'opening') {
      ws.terminate();
      return false;
    }
    this.#ws = ws;
    this.#state = 'open';
    // The listeners are shared by every connection (found through the socket's tag), not three
    // closures per connection: idle memory per connection is a headline number (docs/benchmarks.md).
    (ws as TaggedWebSocket)[kConnection] = this;
    ws.on('message', Connection.#wsListeners.message);
    // on, not once: ws emits close once, and once() would cost a bound wrapper per connection.
    ws.on('close', Connection.#wsListeners.close);
    ws.on('error', Connection.#wsListeners.error);
    const opening = this.#opening;
    this.#opening = undefined;
    if (opening?.frames !== undefined) for (const frame of opening.frames) this.sendFrame(frame);
    if (opening?.close !== undefined) this.close(opening.close.code, opening.close.reason);
    return true;
  }

  /** The client went away before the handshake completed. Called by the SocketServer. */
  abandon(): void {
    if (this.#state === 'opening') this.#closed(1006, 'handshake abandoned');
  }

  static readonly #wsListeners = {
    message(this: TaggedWebSocket, data: Buffer, isBinary: boolean): void {
      this[kConnection]!.#receive(data, isBinary);
    },
    close(this: TaggedWebSocket, code: number, reason: Buffer): void {
      this[kConnection]!.#closed(code, reason.toString());
    },
    error(this: TaggedWebSocket, error: Error & { code?: string }): void {
      // ws has already closed the socket with the matching code (1007 bad UTF-8, 1009 too big).
      const connection = this[kConnection]!;
      const kind =
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'frame-too-big' : error.code === 'WS_ERR_INVALID_UTF8' ? 'invalid-utf8' : 'protocol-error';
      connection.#context.refusals.record(kind, { connection: connection.id, err: error.code ?? error.message }, 'websocket protocol error: connection closed');
    },
  };

  #receive(data: Buffer, isBinary: boolean): void {
    if (this.#context.maxMessagesPerSecond !== 0) {
      const verdict = this.#admit(Date.now());
      if (verdict !== RateVerdict.ADMIT) return this.#overRate(verdict);
    }
    if (isBinary) {
      this.#context.refusals.record('binary-frame', { connection: this.id }, 'binary frame: connection closed');
      this.fail(new HeraldError(Errors.BINARY_NOT_SUPPORTED));
      return;
    }
    const text = data.toString();
    if (this.#onMessage === undefined) (this.#early ??= []).push(text);
    else this.#handle(text);
  }

  #admit(now: number): RateVerdict {
    const limit = this.#context.maxMessagesPerSecond;
    if (now - this.#rateWindowStart >= 1000) {
      this.#rateWindowStart = now;
      this.#rateCount = 0;
    }
    return rateVerdict(limit, ++this.#rateCount);
  }

  #handle(text: string): void {
    try {
      const result = this.#onMessage!(text, this);
      if (result instanceof Promise) result.catch((error: unknown) => this.#handlerFailed(error));
    } catch (error) {
      this.#handlerFailed(error);
    }
  }

  #handlerFailed(error: unknown): void {
    if (error instanceof HeraldError) {
      // The message was refused or could not be published: say so and keep the socket.
      if (error.endsConnection) this.fail(error);
      else this.send(errorFrame(error));
      return;
    }
    this.#context.log.error({ connection: this.id, err: error }, 'socket message handler failed');
    this.close(CloseCode.INTERNAL_ERROR, 'internal error');
  }

  #overRate(verdict: RateVerdict): void {
    if (!this.isOpen) return;
    const fields = { connection: this.id, limit: this.#context.maxMessagesPerSecond };
    if (verdict === RateVerdict.FLOOD) {
      this.#context.refusals.record('message-flood', fields, 'closing connection: message flood');
      this.fail(new HeraldError(Errors.MESSAGE_FLOOD, `More than ${2 * this.#context.maxMessagesPerSecond} messages in a second`));
      return;
    }
    // Counted every time, logged once per one-second window.
    this.#context.refusals.record('rate-limited', fields, 'messages over the rate limit dropped', this.#rateCount !== this.#context.maxMessagesPerSecond + 1);
    this.sendFrame(RATE_LIMITED_FRAME);
  }

  #closeSlowConsumer(): void {
    this.#context.refusals.record(
      'slow-consumer',
      { connection: this.id, backlog: this.#socket.writableLength },
      'closing slow consumer: unsent backlog over limit',
    );
    this.fail(new HeraldError(Errors.SLOW_CONSUMER));
    // The close frame waits behind the backlog the client is not reading; do not wait for it.
    setTimeout(() => this.terminate(), 1000).unref();
  }

  #closed(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#firstChannel !== undefined) this.unsubscribe(this.#firstChannel);
    if (this.#moreSubscriptions !== undefined) {
      for (const [channel, subscriber] of this.#moreSubscriptions) this.#context.registry.remove(channel, subscriber);
      this.#moreSubscriptions = undefined;
    }
    this.#onMessage = undefined;
    this.#early = undefined;
    if (this.#opening !== undefined) this.#opening.frames = undefined;
    const handlers = this.#closeHandlers;
    this.#closeHandlers = undefined;
    for (const handler of handlers ?? []) {
      try {
        handler(code, reason);
      } catch (error) {
        this.#context.log.error({ connection: this.id, err: error }, 'socket close handler failed');
      }
    }
    this.#context.connectionClosed?.(this);
  }
}

/** Delivers every publication of a channel to one connection. */
class RawSubscriber implements Subscriber {
  readonly #connection: Connection;
  constructor(connection: Connection) {
    this.#connection = connection;
  }
  deliver(publication: Publication): void {
    // Presence events exist for /connect clients; raw sockets get only the channel's data.
    if (publication.event === undefined) this.#connection.sendFrame(publication.rawFrame());
  }
}

/** Like RawSubscriber, but skips what the connection published itself. */
class NoEchoSubscriber implements Subscriber {
  readonly #connection: Connection;
  constructor(connection: Connection) {
    this.#connection = connection;
  }
  deliver(publication: Publication): void {
    if (publication.from !== this.#connection.id && publication.event === undefined) this.#connection.sendFrame(publication.rawFrame());
  }
}
