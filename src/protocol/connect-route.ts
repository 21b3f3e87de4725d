import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ChannelPermissions } from '../auth/channel-permissions.ts';
import type { Broker } from '../broker/broker.ts';
import { userChannel } from '../channels/channel-name.ts';
import type { Namespaces } from '../channels/namespace.ts';
import type { Publisher } from '../channels/publisher.ts';
import { CloseCode, Errors, HeraldError } from '../errors.ts';
import { isRecovered } from '../history/history.ts';
import type { InFlight } from '../in-flight.ts';
import type { Presence, PresenceEntry } from '../presence/presence.ts';
import { taskChannel } from '../tasks/task-channel.ts';
import type { Tasks } from '../tasks/tasks.ts';
import type { Connection } from '../transport/connection.ts';
import type { SocketHandler } from '../transport/socket-server.ts';
import type { PrivateMessages } from '../users/private-messages.ts';
import { statusChannel, statusRuleChannel } from '../users/status-channel.ts';
import type { UserActivity } from '../users/user-activity.ts';
import { ChannelSubscription, InboxSubscription, StatusSubscription } from './channel-subscription.ts';
import { PresenceMembership } from './presence-membership.ts';
import { encodeError, encodePublications, encodeResult, parseRequest, PROTOCOL_VERSION, RequestError, type Request, type RequestId } from './frames.ts';

/** What the /connect protocol works with. */
export interface ProtocolContext {
  broker: Broker;
  /** The one permission check for client requests (auth/channel-permissions.ts). */
  permissions: ChannelPermissions;
  publisher: Publisher;
  namespaces: Namespaces;
  presence: Presence;
  /** Starts the tasks clients may start (the `task` op). */
  tasks: Tasks;
  /** Presence leaves being written, which shutdown waits for before it closes Redis. */
  leaves: InFlight;
  /** Online status of users, and their `status` pushes. */
  activity: UserActivity;
  /** Private messages and the users' inboxes. */
  messages: PrivateMessages;
  log: FastifyBaseLogger;
}

/** Users one connection may watch at once. */
export const MAX_WATCHED_USERS = 1000;
/** Stored messages replayed per connect, at most (the rest come on the next connect, once these are acknowledged). */
const MAX_REPLAYED = 10_000;

/**
 * The /connect route: one socket, many channels (docs/protocol.md).
 *
 * Identity is `connection.user`, set by authentication before this handler runs; undefined is an
 * anonymous connection. A user's connections all listen on the user's private channel, which no
 * client can name. Every op that names a channel goes through the channel permission check.
 */
export function connectRoute(context: ProtocolContext): SocketHandler {
  return async (connection) => {
    const version = connection.query.get('protocol');
    if (version !== null && version !== String(PROTOCOL_VERSION)) {
      throw new HeraldError(Errors.UNSUPPORTED_PROTOCOL, `Unsupported protocol version ${JSON.stringify(version).slice(0, 40)}: this server speaks ${PROTOCOL_VERSION}`);
    }
    const session = new ProtocolSession(connection, context);
    // Broker down: BROKER_UNAVAILABLE, which closes with 1013 (try again later).
    const inbox = connection.user === undefined ? undefined : await session.subscribeInbox(connection.user);
    const welcome: Record<string, unknown> = { type: 'welcome', connection: connection.id, user: connection.user ?? null, protocol: PROTOCOL_VERSION };
    // When the token expires (ms since the epoch): refresh before then, or be closed with 4100.
    if (connection.tokenExpiresAt !== undefined) welcome.expiresAt = connection.tokenExpiresAt;
    connection.send(welcome);
    connection.onMessage((text) => session.handle(text));
    connection.onClose(() => session.closed());
    if (inbox !== undefined) await session.signedIn(connection.user!, inbox);
    // Shutdown drain: when to reconnect, so that a process's clients do not all come back at once.
    connection.onGoingAway((reconnectAfterMs) => connection.send({ type: 'disconnect', reason: 'server shutting down', reconnectAfterMs }));
  };
}

/** Turns a permission refusal into the error reply. */
function allowed(refusal: HeraldError | undefined): void {
  if (refusal !== undefined) throw refusal;
}

class ProtocolSession {
  readonly #connection: Connection;
  readonly #context: ProtocolContext;
  readonly #subscriptions = new Map<string, ChannelSubscription>();
  /** The users whose `status` pushes this connection gets. */
  readonly #watched = new Set<string>();
  /** The user this connection counts online for (from the moment it is signed in). */
  #online: string | undefined;

  constructor(connection: Connection, context: ProtocolContext) {
    this.#connection = connection;
    this.#context = context;
  }

  async handle(text: string): Promise<void> {
    let request: Request;
    try {
      request = parseRequest(text);
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
      this.#connection.send(encodeError(error.id, error.error));
      return;
    }
    try {
      await this.#run(request);
    } catch (error) {
      // HeraldErrors are answers (the socket stays open); anything else is a bug: Connection
      // logs it and closes with 1011.
      if (!(error instanceof HeraldError) || error.endsConnection) throw error;
      if (this.#connection.isOpen) this.#connection.send(encodeError(request.id, error));
    }
  }

  closed(): void {
    for (const subscription of this.#subscriptions.values()) this.#leave(subscription);
    this.#subscriptions.clear();
    if (this.#online !== undefined) this.#context.activity.closed(this.#online, this.#connection.id);
  }

  /** Subscribes the user's private messages, held back until `signedIn` has replayed the stored ones. */
  async subscribeInbox(user: string): Promise<InboxSubscription> {
    const inbox = new InboxSubscription(this.#connection);
    await this.#connection.subscribe(userChannel(user), { subscriber: inbox, reserved: true });
    return inbox;
  }

  /**
   * The connection is the user's (at connect, or by a refresh): it counts towards the user's online
   * status, and gets the stored messages, oldest first, before any live one. Stored messages that
   * cannot be read (Redis down) close the socket with 1013, so the client comes back for them.
   */
  async signedIn(user: string, inbox: InboxSubscription): Promise<void> {
    const connection = this.#connection;
    // Still opening at connect (frames wait for the 101), open after a refresh.
    if (connection.isClosed) return;
    this.#online = user;
    this.#context.activity.opened(user, connection.id);
    let stored;
    try {
      stored = await this.#context.messages.inbox.read(user, MAX_REPLAYED);
    } catch (error) {
      if (!(error instanceof HeraldError)) throw error;
      connection.close(CloseCode.TRY_AGAIN_LATER, 'stored messages could not be read; reconnect');
      return;
    }
    if (!connection.isClosed) inbox.replayed(stored);
  }

  async #run(request: Request): Promise<void> {
    switch (request.op) {
      case 'subscribe':
        return this.#subscribe(request);
      case 'unsubscribe': {
        const subscription = this.#subscriptions.get(request.channel);
        if (subscription === undefined) throw new HeraldError(Errors.NOT_SUBSCRIBED, `Not subscribed to ${request.channel}`);
        this.#subscriptions.delete(request.channel);
        this.#connection.unsubscribe(request.channel);
        this.#leave(subscription);
        return this.#reply(request.id, { channel: request.channel });
      }
      case 'publish': {
        allowed(this.#context.permissions.authorizePublish(this.#connection, request.channel, request.data));
        const result = await this.#connection.publish(request.channel, request.data, { idempotencyKey: request.idempotencyKey });
        const { reached: _reached, ...position } = result;
        return this.#reply(request.id, { channel: request.channel, ...position });
      }
      case 'send': {
        const from = this.#connection.user;
        if (from === undefined) throw new HeraldError(Errors.IDENTITY_REQUIRED, 'Anonymous connections cannot send private messages');
        const result = await this.#context.messages.send(from, request.user, request.data, { store: request.store, connection: this.#connection.id });
        return this.#reply(request.id, result);
      }
      case 'online': {
        for (const user of request.users) allowed(this.#context.permissions.authorizeSubscribe(this.#connection, statusRuleChannel(user)));
        return this.#reply(request.id, Object.fromEntries(await this.#context.activity.lookup(request.users)));
      }
      case 'watch':
        return this.#watch(request);
      case 'unwatch': {
        for (const user of request.users) {
          if (this.#watched.delete(user)) this.#connection.unsubscribe(statusChannel(user));
        }
        return this.#reply(request.id, { users: request.users });
      }
      case 'ack': {
        const user = this.#connection.user;
        if (user === undefined) throw new HeraldError(Errors.IDENTITY_REQUIRED, 'Anonymous connections have no inbox');
        const acked = await this.#context.messages.inbox.ack(user, request.ids);
        return this.#reply(request.id, { acked });
      }
      case 'presence': {
        allowed(this.#context.permissions.authorizePresence(this.#connection, request.channel));
        if (!this.#context.namespaces.presenceOf(request.channel)) throw new HeraldError(Errors.PRESENCE_DISABLED, `${request.channel} keeps no presence`);
        const clients = await this.#context.presence.list(request.channel);
        return this.#reply(request.id, { channel: request.channel, clients });
      }
      case 'history': {
        allowed(this.#context.permissions.authorizeHistory(this.#connection, request.channel));
        const history = this.#context.namespaces.historyOf(request.channel);
        if (history === undefined) throw new HeraldError(Errors.HISTORY_DISABLED, `${request.channel} keeps no history`);
        const limit = Math.min(request.limit ?? history.size, history.size);
        const page = await this.#context.broker.history.read(request.channel, { since: request.since, limit });
        const result = { channel: request.channel, ...page.position };
        return this.#reply(request.id, result, `"publications":${encodePublications(page.publications)}`);
      }
      case 'refresh': {
        // The authenticator refuses a token naming another user, so the only identity change is
        // anonymous → a user.
        const before = this.#connection.user;
        try {
          await this.#connection.refreshToken(request.token);
        } catch (error) {
          // A refused token is an answer (the connection keeps its current one), not a close.
          if (!(error instanceof HeraldError)) throw error;
          return this.#connection.send(encodeError(request.id, error));
        }
        if (this.#connection.user !== before) await this.#identified(before);
        const expiresAt = this.#connection.tokenExpiresAt;
        return this.#reply(request.id, expiresAt === undefined ? { user: this.#connection.user ?? null } : { user: this.#connection.user ?? null, expiresAt });
      }
      case 'task':
        return this.#startTask(request);
      case 'taskStatus': {
        // The status says what the task's channel says (plus its name): readable by whoever may read that history.
        allowed(this.#context.permissions.authorizeHistory(this.#connection, taskChannel(request.task)));
        const status = await this.#context.tasks.get(request.task);
        if (status === undefined) throw new HeraldError(Errors.TASK_NOT_FOUND, `No task with id ${JSON.stringify(request.task)}`);
        return this.#reply(request.id, status);
      }
      case 'ping':
        return this.#reply(request.id, {});
    }
  }

  /**
   * `options.trusted`: a channel the server chose (a task's), not checked against the permissions.
   * `options.beforeReply` runs once the subscription is live and before the reply (a failure undoes
   * the subscription); `options.result` is merged into the reply.
   */
  async #subscribe(request: Extract<Request, { op: 'subscribe' }>, options: { trusted?: boolean; result?: object; beforeReply?: () => Promise<void> } = {}): Promise<void> {
    const { channel } = request;
    if (this.#subscriptions.has(channel)) throw new HeraldError(Errors.ALREADY_SUBSCRIBED, `Already subscribed to ${channel}`);
    if (options.trusted !== true) allowed(this.#context.permissions.authorizeSubscribe(this.#connection, channel));
    const history = this.#context.namespaces.historyOf(channel);
    const { presence, publisher, log } = this.#context;
    const membership = this.#context.namespaces.presenceOf(channel) ? new PresenceMembership(channel, this.#connection, presence, publisher, log) : undefined;
    const subscription = new ChannelSubscription(this.#connection, channel, membership);
    this.#subscriptions.set(channel, subscription);
    let result: Record<string, unknown> = { ...options.result, channel, recoverable: history !== undefined };
    let recovered = '';
    let covered;
    try {
      await this.#connection.subscribe(channel, { subscriber: subscription });
      if (history !== undefined) {
        // Read AFTER the subscription is live in the broker: see ChannelSubscription for the seam.
        const page = await this.#context.broker.history.read(channel, request.since === undefined ? { limit: 0 } : { since: request.since });
        covered = page.position;
        result = { ...result, ...page.position };
        if (request.since !== undefined) {
          const ok = isRecovered(request.since, page);
          result.recovered = ok;
          if (ok) recovered = encodePublications(page.publications);
        }
      }
      if (membership !== undefined && this.#subscriptions.get(channel) === subscription) {
        const entry: PresenceEntry = { connection: this.#connection.id, user: this.#connection.user ?? null };
        if (request.info !== undefined) entry.info = subscription.info = request.info;
        // Closing or unsubscribing meanwhile leaves the membership, which undoes this join.
        await membership.join(entry);
      }
      await options.beforeReply?.();
    } catch (error) {
      if (this.#subscriptions.get(channel) === subscription) {
        this.#subscriptions.delete(channel);
        this.#connection.unsubscribe(channel);
        this.#leave(subscription);
      }
      throw error;
    }
    if (this.#subscriptions.get(channel) !== subscription) {
      throw new HeraldError(Errors.NOT_SUBSCRIBED, `Unsubscribed from ${channel} before the subscription completed`);
    }
    this.#reply(request.id, result, recovered === '' ? '' : `"publications":${recovered}`);
    subscription.goLive(covered);
  }

  /**
   * Subscribes the users' `status` pushes (each allowed by the `status` namespace's subscribe rule
   * for `status:<user>`), then answers their current status: a change after the subscription is
   * pushed, so none is missed (one just before the reply may come as a push too).
   */
  async #watch(request: Extract<Request, { op: 'watch' }>): Promise<void> {
    for (const user of request.users) allowed(this.#context.permissions.authorizeSubscribe(this.#connection, statusRuleChannel(user)));
    const fresh = request.users.filter((user) => !this.#watched.has(user));
    if (this.#watched.size + fresh.length > MAX_WATCHED_USERS) {
      throw new HeraldError(Errors.TOO_MANY_WATCHED, `A connection may watch at most ${MAX_WATCHED_USERS} users (${this.#watched.size} already)`);
    }
    for (const user of fresh) this.#watched.add(user);
    try {
      await Promise.all(fresh.map((user) => this.#connection.subscribe(statusChannel(user), { subscriber: new StatusSubscription(this.#connection), reserved: true })));
    } catch (error) {
      for (const user of fresh) {
        this.#watched.delete(user);
        this.#connection.unsubscribe(statusChannel(user));
      }
      throw error;
    }
    return this.#reply(request.id, Object.fromEntries(await this.#context.activity.lookup(request.users)));
  }

  /**
   * A refresh made an anonymous connection a user's: it gets what identity at connect gives, the
   * user's private-message inbox, and its presence entries name the user (a `join` push with the
   * same connection id carries the change).
   */
  async #identified(before: string | undefined): Promise<void> {
    const connection = this.#connection;
    const user = connection.user;
    if (before !== undefined || user === undefined) return;
    let inbox: InboxSubscription;
    try {
      inbox = await this.subscribeInbox(user);
    } catch (error) {
      // As at connect: without its inbox the connection would silently miss messages; reconnect.
      if (!(error instanceof HeraldError)) throw error;
      connection.close(CloseCode.TRY_AGAIN_LATER, error.message.slice(0, 120));
      throw error;
    }
    await this.signedIn(user, inbox);
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.membership?.joined !== true) continue;
      const entry: PresenceEntry = { connection: connection.id, user };
      if (subscription.info !== undefined) entry.info = subscription.info;
      await subscription.membership.update(entry);
    }
  }

  /**
   * Starts a task for the client: subscribed to `task:<id>` before the task is queued (so no event
   * can precede the subscription), answered with the id and the channel's position, then live.
   */
  async #startTask(request: Extract<Request, { op: 'task' }>): Promise<void> {
    allowed(this.#context.tasks.authorizeClientStart(this.#connection, request.name));
    const id = randomUUID();
    await this.#subscribe({ op: 'subscribe', id: request.id, channel: taskChannel(id) }, {
      trusted: true,
      result: { task: id },
      beforeReply: async () => {
        await this.#context.tasks.start(request.name, request.args, { id, follower: this.#connection });
      },
    });
  }

  /** Leaves the subscription's presence; shutdown waits for the leave before it closes Redis. */
  #leave(subscription: ChannelSubscription): void {
    if (subscription.membership !== undefined) this.#context.leaves.track(subscription.membership.leave());
  }

  #reply(id: RequestId | undefined, result: object, extra = ''): void {
    this.#connection.send(encodeResult(id, result, extra));
  }
}
