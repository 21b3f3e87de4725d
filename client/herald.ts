import { shouldReconnect } from './errors.ts';
import { ReconnectBackoff } from './backoff.ts';
import { ConnectionHealth } from './connection-health.ts';
import { Emitter } from './emitter.ts';
import { ClientErrorCode, HeraldClientError } from './errors.ts';
import { newIdempotencyKey, publishIdempotently } from './idempotent-publish.ts';
import { PROTOCOL_VERSION, type HistoryResult, type PresenceClient, type PublishResult, type SendResult, type ServerFrame, type StreamPosition, type SubscribeResult, type UserStatus, type UserStatusChange } from './protocol.ts';
import { PendingRequests } from './requests.ts';
import { InboxReceiver, type MessageHandler, type PrivateMessage } from './inbox.ts';
import { Subscription, type PublicationHandler } from './subscription.ts';
import { TaskFollower, type FollowTaskOptions, type TaskStatus } from './task-follower.ts';
import type { TaskEventHandler } from './task-events.ts';
import { connectUrl, OPEN, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from './transport.ts';

export interface HeraldClientOptions {
  /** Sent as the `token` query parameter on every (re)connect; a function is called each time, so it can refresh. */
  token?: string | (() => string | Promise<string>);
  /** Sent with every subscription; shown in presence (at most 1 KB of JSON). */
  info?: unknown;
  /** The WebSocket class; default the global one (browsers, Node >= 22). The Node entry passes `ws`. */
  WebSocket?: WebSocketConstructor;
  /** Upper bound of the first reconnect delay, in ms (doubling per failed attempt, jittered over its upper half). Default 500. */
  minReconnectDelayMs?: number;
  /** Cap of the reconnect delay, in ms. Default 20000. */
  maxReconnectDelayMs?: number;
  /** How long a request waits for its reply (including for a connection to send it on), in ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Interval of the client's liveness ping, in ms; an unanswered ping drops and reconnects. 0: off. Default 20000. */
  pingIntervalMs?: number;
}

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

export interface HeraldEvents extends Record<string, unknown> {
  connecting: { attempt: number };
  /** `expiresAt`: when the connection's token expires (ms since the epoch), if it does. */
  connected: { connection: string; user: string | null; expiresAt?: number };
  /** The socket closed. `reconnect` says whether the client will try again (see docs/protocol.md close codes). */
  disconnected: { code: number; reason: string; reconnect: boolean };
  /** The token was refreshed on the open connection (automatically, when `token` is a function). */
  refreshed: { expiresAt?: number };
  /** The state changed (any of the three events above). */
  state: ConnectionState;
  /**
   * A private message to this connection's user, once per message (stored ones are deduplicated by
   * inbox id and acknowledged after the `onMessage` handlers return). `from` is null for messages
   * from server code; `replayed` marks one stored while the user was away.
   */
  message: PrivateMessage;
  /** A watched user came online or went offline (see `watchStatus`). */
  status: UserStatusChange;
  /** Something went wrong that no promise reports (e.g. a token function that threw). */
  error: HeraldClientError;
}

/**
 * A Herald client: one WebSocket to `/connect`, many channels, reconnecting by itself.
 *
 * @example
 * const herald = new Herald('wss://example.com/connect', { token: () => fetchToken() });
 * herald.on('state', (state) => console.log(state));
 * const news = herald.subscribe('news', (data) => console.log('news', data));
 * news.on('subscribed', ({ resubscribed, recovered }) => { if (resubscribed && !recovered) reload(); });
 * herald.connect();
 * await herald.publish('news', { headline: 'hello' });
 */
export class Herald extends Emitter<HeraldEvents> {
  readonly url: string;
  readonly #options: Required<Omit<HeraldClientOptions, 'token' | 'info' | 'WebSocket'>> & Pick<HeraldClientOptions, 'token' | 'info'>;
  readonly #WebSocket: WebSocketConstructor;
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #requests = new PendingRequests();
  /** Requests made while connecting, sent once connected (each bounded by its own timeout). */
  #queued: Array<() => void> = [];
  #state: ConnectionState = 'disconnected';
  #wanted = false;
  #socket: WebSocketLike | undefined;
  readonly #backoff: ReconnectBackoff;
  readonly #health = new ConnectionHealth(() => this.#backoff.reset());
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #connection: string | undefined;
  readonly #messageHandlers = new Set<MessageHandler>();
  readonly #inbox = new InboxReceiver(
    async (message) => {
      this.emit('message', message);
      for (const handler of [...this.#messageHandlers]) await handler(message);
    },
    (id) => void this.#request({ op: 'ack', ids: [id] }).catch(() => {}),
  );
  /** Users whose status this client watches, with the last status it reported; watched again on each connect. */
  readonly #watched = new Map<string, UserStatus | undefined>();

  constructor(url: string, options: HeraldClientOptions = {}) {
    super();
    this.url = url;
    this.#WebSocket = resolveWebSocket(options.WebSocket);
    this.#options = {
      minReconnectDelayMs: 500,
      maxReconnectDelayMs: 20_000,
      requestTimeoutMs: 10_000,
      pingIntervalMs: 20_000,
      ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
    };
    this.#backoff = new ReconnectBackoff({ minDelayMs: this.#options.minReconnectDelayMs, maxDelayMs: this.#options.maxReconnectDelayMs });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The server's id for the current connection (undefined while not connected). */
  get connectionId(): string | undefined {
    return this.#connection;
  }

  /** Starts connecting (and reconnecting whenever the connection drops, until `close()`). */
  connect(): this {
    if (this.#wanted) return this;
    this.#wanted = true;
    this.#backoff.reset(true);
    void this.#open();
    return this;
  }

  /** Closes the connection for good: pending requests are rejected, subscriptions stay registered for a later `connect()`. */
  close(): void {
    this.#wanted = false;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      this.#detachSocket(socket);
      try {
        socket.close(1000);
      } catch {}
      this.#lost(1000, 'closed by the client', false);
    } else if (this.#state !== 'disconnected') {
      this.#setState('disconnected');
    }
    this.#flushQueue();
  }

  /**
   * Listens to `channel`; `handler` gets each publication's data once, in order, across reconnects.
   * Subscribing twice to one channel is an error (keep the first Subscription). With `since` (a
   * position from `history()`), the first subscription recovers what was published after it.
   */
  subscribe(channel: string, handler: PublicationHandler, options: { since?: StreamPosition } = {}): Subscription {
    if (this.#subscriptions.has(channel)) throw new TypeError(`Already subscribed to ${channel}`);
    const subscription = new Subscription(channel, handler, (s) => this.#detachSubscription(s), options.since);
    this.#subscriptions.set(channel, subscription);
    if (this.#state === 'connected') this.#sendSubscribe(subscription);
    return subscription;
  }

  /** The subscription of `channel`, if any. */
  subscription(channel: string): Subscription | undefined {
    return this.#subscriptions.get(channel);
  }

  /**
   * Publishes `data` to `channel`, once, even across a connection drop: every publish is sent with
   * an idempotency key (`idempotencyKey`, or a fresh random one), and if the connection drops
   * before the reply the SDK sends it again with the same key on the next connection (within
   * `requestTimeoutMs`); the server accepts a key once per channel within 5 minutes, so a repeat
   * resolves with `duplicate: true` and publishes nothing. A rejection's error carries the key
   * (`error.idempotencyKey`): publishing again with it is safe.
   */
  publish(channel: string, data: unknown, options: { idempotencyKey?: string } = {}): Promise<PublishResult> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    const request = { op: 'publish', channel, data, idempotencyKey };
    return publishIdempotently(idempotencyKey, this.#options.requestTimeoutMs, (remainingMs) => this.#request(request, undefined, remainingMs), () => this.#wanted);
  }

  /**
   * Sends a private message to every connection of `user`. With `store: true` (or the server's
   * default) it is also kept in the user's inbox until one of their clients acknowledges it, and
   * replayed at each connect until then. The result says whether it was delivered live, stored, or
   * both; a full inbox rejects with HERALD_ERR_INBOX_FULL (nothing was sent).
   *
   * @example
   * const { live, stored } = await herald.send('bob', { text: 'hi' }, { store: true });
   */
  send(user: string, data: unknown, options: { store?: boolean } = {}): Promise<SendResult> {
    return this.#request(options.store === undefined ? { op: 'send', user, data } : { op: 'send', user, data, store: options.store }) as Promise<SendResult>;
  }

  /**
   * Handles each private message once, in order: a stored one is acknowledged when `handler`
   * returns (or its promise resolves), so a message whose handler did not finish comes again on the
   * next connection; repeats are dropped by inbox id. Returns a function that removes the handler.
   *
   * @example
   * herald.onMessage(async (message) => {
   *   await saveToLocalDatabase(message);
   *   if (message.replayed) showBadge('arrived while you were away');
   * });
   */
  onMessage(handler: MessageHandler): () => void {
    this.#messageHandlers.add(handler);
    return () => this.#messageHandlers.delete(handler);
  }

  /**
   * Whether each user has a connection open anywhere in the cluster, and when each was last seen
   * (up to 1,000 users in one request).
   *
   * @example
   * const statuses = await herald.online(['alice', 'bob']);
   * if (!statuses.bob.online) console.log('bob was last seen', new Date(statuses.bob.lastSeen));
   */
  online(users: string[]): Promise<Record<string, UserStatus>> {
    return this.#request({ op: 'online', users }) as Promise<Record<string, UserStatus>>;
  }

  /**
   * Watches the users' online status: each change comes as a `status` event, across reconnects
   * (a change missed while disconnected is reported after the reconnect). Resolves with their
   * current status. The server's `status` namespace rules decide whose status one may watch.
   *
   * @example
   * herald.on('status', ({ user, online }) => contactList.mark(user, online));
   * await herald.watchStatus(['alice', 'bob']);
   */
  async watchStatus(users: string[]): Promise<Record<string, UserStatus>> {
    for (const user of users) if (!this.#watched.has(user)) this.#watched.set(user, undefined);
    const statuses = (await this.#request({ op: 'watch', users })) as Record<string, UserStatus>;
    for (const [user, status] of Object.entries(statuses)) if (this.#watched.has(user)) this.#watched.set(user, status);
    return statuses;
  }

  /** Stops watching the users' status. */
  async unwatchStatus(users: string[]): Promise<void> {
    for (const user of users) this.#watched.delete(user);
    if (this.#state === 'connected') await this.#request({ op: 'unwatch', users });
  }

  /** Who is subscribed to `channel` (a channel whose namespace keeps presence). */
  async presence(channel: string): Promise<PresenceClient[]> {
    return ((await this.#request({ op: 'presence', channel })) as { clients: PresenceClient[] }).clients;
  }

  /** The channel's kept publications: the newest `limit`, or those after `since`. */
  history(channel: string, options: { since?: StreamPosition; limit?: number } = {}): Promise<HistoryResult> {
    return this.#request({ op: 'history', channel, ...options }) as Promise<HistoryResult>;
  }

  /**
   * Gives the connection a fresh token before its current one expires (`connected` and the welcome
   * tell when: the server closes with 4100 at expiry otherwise).
   */
  refresh(token: string): Promise<{ user: string | null; expiresAt?: number }> {
    return this.#request({ op: 'refresh', token }) as Promise<{ user: string | null; expiresAt?: number }>;
  }

  /**
   * Starts task `name` on the server (one the server lets clients start) and follows it: `onEvent`
   * gets each progress event and then the outcome (`completed` with the result, or `failed` with
   * the reason), once each and in order, across reconnects (the task's channel keeps history).
   * The server subscribes this connection to the task's channel before queueing the task, so no
   * event is missed; after the outcome the subscription ends by itself.
   *
   * @example
   * const { id } = await herald.startTask('resize', { url }, (event) => {
   *   if (event.type === 'progress') bar.value = event.progress;
   *   if (event.type === 'completed') show(event.result);
   *   if (event.type === 'failed') alert(event.reason);
   * });
   */
  async startTask(name: string, args: unknown, onEvent: TaskEventHandler, options: FollowTaskOptions = {}): Promise<{ id: string; subscription: Subscription }> {
    let subscription: Subscription | undefined;
    const result = (await this.#request({ op: 'task', name, args: args ?? null }, (reply, error) => {
      // Synchronously, before the task's first event (the next frames) is read.
      if (error !== undefined) return;
      const started = reply as SubscribeResult & { task: string };
      const follower = new TaskFollower(started.task, onEvent, (id) => this.taskStatus(id), options);
      subscription = new Subscription(started.channel, follower.handler, (s) => this.#detachSubscription(s));
      this.#subscriptions.set(started.channel, subscription);
      subscription.confirmed(started);
      follower.attach(subscription, false);
    })) as SubscribeResult & { task: string };
    return { id: result.task, subscription: subscription! };
  }

  /**
   * Follows a task started elsewhere (by another page, over HTTP, or before a reload): `onEvent`
   * first gets the events the task's channel still keeps (the latest progress and, if it is over,
   * the outcome), then what follows. When the channel no longer holds the outcome of a finished
   * task (its history expired), the stored outcome is handed over instead. Resolves with the
   * subscription, or undefined when the task was already over (nothing more will come); rejects
   * with HERALD_ERR_TASK_NOT_FOUND when there is no such task.
   *
   * @example
   * // After a reload: the id was kept in sessionStorage by the page that started the task.
   * await herald.watchTask(sessionStorage.taskId, (event) => render(event));
   */
  async watchTask(id: string, onEvent: TaskEventHandler, options: FollowTaskOptions = {}): Promise<Subscription | undefined> {
    const channel = `task:${id}`;
    const follower = new TaskFollower(id, onEvent, (taskId) => this.taskStatus(taskId), options);
    const kept = await this.history(channel);
    for (const entry of kept.publications) follower.handler(entry.data, { channel, offset: entry.offset, epoch: kept.epoch });
    if (follower.done) return undefined;
    if (follower.settle(await this.taskStatus(id))) return undefined;
    const subscription = this.subscribe(channel, follower.handler, { since: { offset: kept.offset, epoch: kept.epoch } });
    follower.attach(subscription, true);
    return subscription;
  }

  /** The task's stored status (what `GET /api/tasks/{id}` answers); rejects with HERALD_ERR_TASK_NOT_FOUND for an unknown id. */
  taskStatus(id: string): Promise<TaskStatus> {
    return this.#request({ op: 'taskStatus', task: id }) as Promise<TaskStatus>;
  }

  /** A round trip to the server. */
  async ping(): Promise<void> {
    await this.#request({ op: 'ping' });
  }

  async #open(): Promise<void> {
    if (!this.#wanted) return;
    this.#setState('connecting');
    this.emit('connecting', { attempt: this.#backoff.attempt });
    let token: string | undefined;
    try {
      token = typeof this.#options.token === 'function' ? await this.#options.token() : this.#options.token;
    } catch (error) {
      this.emit('error', new HeraldClientError('HERALD_CLIENT_TOKEN', `The token function failed: ${String(error)}`));
      return this.#scheduleReconnect();
    }
    if (!this.#wanted) return;
    let socket: WebSocketLike;
    try {
      socket = new this.#WebSocket(connectUrl(this.url, PROTOCOL_VERSION, token));
    } catch (error) {
      this.emit('error', new HeraldClientError(ClientErrorCode.CLOSED, `Cannot open ${this.url}: ${String(error)}`));
      return this.#scheduleReconnect();
    }
    this.#socket = socket;
    // No welcome within the request timeout: treat as a failed attempt.
    const welcomeTimer = setTimeout(() => socket.close(), this.#options.requestTimeoutMs);
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(event.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'welcome') clearTimeout(welcomeTimer);
      this.#receive(frame);
    };
    socket.onclose = (event) => {
      clearTimeout(welcomeTimer);
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#lost(event.code, event.reason, this.#wanted && shouldReconnect(event.code));
    };
    socket.onerror = () => {
      // Followed by close, which decides what happens next.
    };
  }

  #receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.#connection = frame.connection;
        // Not a reset of the backoff yet: see ConnectionHealth.
        this.#health.welcomed(this.#subscriptions.values());
        this.#setState('connected');
        this.emit('connected', frame.expiresAt === undefined ? { connection: frame.connection, user: frame.user } : { connection: frame.connection, user: frame.user, expiresAt: frame.expiresAt });
        for (const subscription of this.#subscriptions.values()) this.#sendSubscribe(subscription);
        this.#rewatch();
        this.#flushQueue();
        this.#startPing();
        this.#scheduleRefresh(frame.expiresAt);
        return;
      case 'reply':
        return this.#requests.settle(frame.id, frame.result, frame.error);
      case 'pub': {
        const subscription = this.#subscriptions.get(frame.channel);
        if (subscription !== undefined && !subscription.publication(frame.data, frame.offset, frame.epoch)) this.#resubscribe(subscription);
        return;
      }
      case 'join':
      case 'leave':
        return this.#subscriptions.get(frame.channel)?.presence(frame.type, frame.client);
      case 'message': {
        const { type: _type, ...message } = frame;
        return this.#inbox.receive(message);
      }
      case 'status': {
        const { type: _type, ...change } = frame;
        return this.#statusChanged(change);
      }
      case 'disconnect':
        // The server is draining (shutting down) and closes this socket next with 1001: come back
        // when it says, not at the usual backoff, so that its clients do not all return at once.
        return this.#backoff.instruct(frame.reconnectAfterMs);
    }
  }

  #sendSubscribe(subscription: Subscription): void {
    const request: Record<string, unknown> = { op: 'subscribe', ...subscription.subscribeRequest() };
    if (this.#options.info !== undefined) request.info = this.#options.info;
    const socket = this.#socket;
    const current = (): boolean => this.#subscriptions.get(subscription.channel) === subscription && this.#socket === socket;
    this.#send(request, (result, error) => {
      if (!current()) return;
      if (error === undefined) {
        subscription.confirmed(result as SubscribeResult);
        this.#health.settled(subscription);
      } else if (error.code === 'HERALD_ERR_BROKER_UNAVAILABLE' || error.code === 'HERALD_ERR_INTERNAL') {
        // Transient: retry on a fresh connection, after the backoff (and at least what the server advised).
        this.#backoff.advise(error.retryAfterMs);
        socket?.close();
      } else {
        subscription.refused(error);
        this.#health.settled(subscription);
      }
    }).catch((error: HeraldClientError) => {
      // No reply in time: the connection is not working; a fresh one resubscribes.
      if (error.code === ClientErrorCode.TIMEOUT && current()) socket?.close();
    });
  }

  /** After a reconnect: watches again, reporting what changed while disconnected. */
  #rewatch(): void {
    const users = [...this.#watched.keys()];
    for (let i = 0; i < users.length; i += 1000) {
      this.#send({ op: 'watch', users: users.slice(i, i + 1000) })
        .then((statuses) => {
          for (const [user, status] of Object.entries(statuses as Record<string, UserStatus>)) this.#statusChanged({ user, ...status });
        })
        .catch(() => {});
    }
  }

  /**
   * Reports a watched user's status when it differs from the last one known; the first one known
   * is what `watchStatus` resolves with, not an event.
   */
  #statusChanged(change: UserStatusChange): void {
    if (!this.#watched.has(change.user)) return;
    const last = this.#watched.get(change.user);
    this.#watched.set(change.user, { online: change.online, lastSeen: change.lastSeen });
    if (last === undefined || (last.online === change.online && last.lastSeen === change.lastSeen)) return;
    this.emit('status', change);
  }

  /** A gap or a new epoch: replace the server-side subscription with one recovering from our position. */
  #resubscribe(subscription: Subscription): void {
    this.#send({ op: 'unsubscribe', channel: subscription.channel }).catch(() => {});
    this.#sendSubscribe(subscription);
  }

  #detachSubscription(subscription: Subscription): void {
    if (this.#subscriptions.get(subscription.channel) !== subscription) return;
    this.#subscriptions.delete(subscription.channel);
    this.#health.settled(subscription);
    if (this.#state === 'connected') this.#send({ op: 'unsubscribe', channel: subscription.channel }).catch(() => {});
  }

  /**
   * Sends a request now if connected, else once connected (or rejects when the client is closed).
   * A socket the SDK is closing (state still `connected` until its close event) counts as not
   * connected: a publish resent after a drop must wait for the next connection, not fail at once
   * and be resent again in a loop.
   */
  #request(request: Record<string, unknown>, onReply?: (result: unknown, error: HeraldClientError | undefined) => void, timeoutMs = this.#options.requestTimeoutMs): Promise<unknown> {
    if (this.#state === 'connected' && this.#socket?.readyState === OPEN) return this.#send(request, onReply, timeoutMs);
    if (!this.#wanted) return Promise.reject(new HeraldClientError(ClientErrorCode.CLOSED, 'The client is not connected: call connect()'));
    const deadline = Date.now() + timeoutMs;
    return new Promise((resolve, reject) => {
      const send = (): void => {
        clearTimeout(timer);
        if (this.#state === 'connected') this.#send(request, onReply, Math.max(1, deadline - Date.now())).then(resolve, reject);
        else reject(new HeraldClientError(ClientErrorCode.CLOSED, 'The client was closed'));
      };
      const timer = setTimeout(() => {
        this.#queued = this.#queued.filter((queued) => queued !== send);
        reject(new HeraldClientError(ClientErrorCode.TIMEOUT, `Not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#queued.push(send);
    });
  }

  #send(request: Record<string, unknown>, onReply?: (result: unknown, error: HeraldClientError | undefined) => void, timeoutMs = this.#options.requestTimeoutMs): Promise<unknown> {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) {
      return Promise.reject(new HeraldClientError(ClientErrorCode.CONNECTION_LOST, 'The connection is not open'));
    }
    const { id, reply } = this.#requests.add(timeoutMs, onReply);
    socket.send(JSON.stringify({ id, ...request }));
    return reply;
  }

  #flushQueue(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const send of queued) send();
  }

  #startPing(): void {
    clearInterval(this.#pingTimer);
    if (this.#options.pingIntervalMs <= 0) return;
    const socket = this.#socket;
    this.#pingTimer = setInterval(() => {
      this.#send({ op: 'ping' }).catch((error: HeraldClientError) => {
        // A server that does not answer is as good as gone: drop the socket and reconnect.
        if (error.code === ClientErrorCode.TIMEOUT && this.#socket === socket) socket?.close();
      });
    }, this.#options.pingIntervalMs);
  }

  /**
   * With a token function, fetches a fresh token and refreshes the connection at 80% of the
   * current token's remaining life, so the server never has to close it (4100).
   */
  #scheduleRefresh(expiresAt: number | undefined): void {
    clearTimeout(this.#refreshTimer);
    const source = this.#options.token;
    if (expiresAt === undefined || typeof source !== 'function') return;
    const socket = this.#socket;
    const delay = Math.max(0, Math.floor((expiresAt - Date.now()) * 0.8));
    this.#refreshTimer = setTimeout(async () => {
      try {
        const result = await this.refresh(await source());
        if (this.#socket !== socket) return;
        this.emit('refreshed', result.expiresAt === undefined ? {} : { expiresAt: result.expiresAt });
        this.#scheduleRefresh(result.expiresAt);
      } catch (error) {
        // The server will close with 4100 at expiry; the reconnect then fetches a token again.
        if (this.#socket === socket) this.emit('error', error instanceof HeraldClientError ? error : new HeraldClientError('HERALD_CLIENT_TOKEN', `The token refresh failed: ${String(error)}`));
      }
    }, Math.min(delay, 2 ** 31 - 1));
  }

  #lost(code: number, reason: string, reconnect: boolean): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#refreshTimer);
    this.#connection = undefined;
    this.#health.lost();
    for (const subscription of this.#subscriptions.values()) subscription.disconnected();
    this.#requests.rejectAll(new HeraldClientError(ClientErrorCode.CONNECTION_LOST, `Connection closed (${code}) before the reply`, code));
    if (!reconnect) this.#wanted = false;
    this.#setState(reconnect ? 'connecting' : 'disconnected');
    this.emit('disconnected', { code, reason, reconnect });
    if (reconnect) this.#scheduleReconnect();
    else this.#flushQueue();
  }

  #scheduleReconnect(): void {
    if (!this.#wanted) return;
    const delay = this.#backoff.next();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#open(), delay);
  }

  #detachSocket(socket: WebSocketLike): void {
    socket.onopen = socket.onmessage = socket.onclose = null;
    // Closing a socket that is still connecting reports an error; nothing is listening any more.
    socket.onerror = () => {};
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
