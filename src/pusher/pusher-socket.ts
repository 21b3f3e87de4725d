import type { FastifyBaseLogger } from 'fastify';
import type { Publication } from '../channels/publication.ts';
import type { Publisher } from '../channels/publisher.ts';
import type { Subscriber } from '../channels/subscriber-registry.ts';
import { HeraldError, PusherCloseCode } from '../errors.ts';
import type { InFlight } from '../in-flight.ts';
import type { Presence } from '../presence/presence.ts';
import type { Connection } from '../transport/connection.ts';
import { channelKind, heraldChannel, isPusherChannel, isUserId, userChannel } from './channel-mapping.ts';
import { ClientEventRate, clientEventRefusal, RATE_LIMITED } from './client-events.ts';
import * as frames from './frames.ts';
import { PresenceMember, presenceMembers } from './presence-members.ts';
import type { PusherApp } from './pusher-apps.ts';
import type { PusherEvents } from './pusher-events.ts';
import { channelAuthText, userAuthText, validAuth } from './signatures.ts';

/** What every Pusher socket of a process shares. */
export interface PusherSocketContext {
  publisher: Publisher;
  presence: Presence;
  events: PusherEvents;
  leaves: InFlight;
  log: FastifyBaseLogger;
}

/** The data the `terminate_connections` call publishes on a user's channel. */
export const TERMINATE: frames.PusherEventData = { event: 'pusher_internal:terminate', data: '' };

/**
 * One socket speaking the Pusher protocol on `/app/{key}`: subscriptions, presence, client events
 * and sign-in, over a Herald Connection (so the transport's limits, heartbeat and drain apply).
 */
export class PusherSocket {
  readonly #app: PusherApp;
  readonly #connection: Connection;
  readonly #context: PusherSocketContext;
  readonly socketId: string;
  readonly #subscriptions = new Map<string, PusherSubscription>();
  readonly #rate = new ClientEventRate();
  /** The signed-in user (`pusher:signin`), whose `#server-to-user-` channel this socket may subscribe to. */
  #user: string | undefined;
  #userSubscriber: UserSubscriber | undefined;
  #closed = false;

  constructor(app: PusherApp, connection: Connection, socketId: string, context: PusherSocketContext) {
    this.#app = app;
    this.#connection = connection;
    this.socketId = socketId;
    this.#context = context;
  }

  /** Handles one text frame from the client. */
  async receive(text: string): Promise<void> {
    const frame = frames.parseFrame(text);
    if (frame === undefined) return this.#error(null, 'Frames must be JSON objects with an "event" string');
    switch (frame.event) {
      case 'pusher:ping':
        return this.#connection.send(frames.PONG);
      case 'pusher:pong':
        return;
      case 'pusher:subscribe':
        return this.#subscribe(objectOf(frame.data));
      case 'pusher:unsubscribe':
        return this.#unsubscribe(objectOf(frame.data).channel);
      case 'pusher:signin':
        return this.#signin(objectOf(frame.data));
      default:
        if (frame.event.startsWith('client-')) return this.#clientEvent(frame);
        return this.#error(null, `Unknown event ${JSON.stringify(frame.event.slice(0, 200))}`);
    }
  }

  /** The socket closed: leave every channel (presence leaves are tracked for shutdown). */
  closed(): void {
    this.#closed = true;
    for (const name of [...this.#subscriptions.keys()]) this.#unsubscribe(name);
    if (this.#user !== undefined) this.#connection.unsubscribe(userChannel(this.#app.id, this.#user));
  }

  async #subscribe(data: Record<string, unknown>): Promise<void> {
    const name = data.channel;
    if (!isPusherChannel(name)) return this.#error(null, `Invalid channel name ${JSON.stringify(name)}`);
    const kind = channelKind(name);
    if (this.#subscriptions.has(name) || (kind === 'user' && this.#userSubscriber?.forwarding === true)) {
      // Subscribing twice is harmless: confirmed again, except on presence channels, whose
      // confirmation carries the members (the first subscription's is, or will be, on its way).
      if (kind !== 'presence') this.#connection.send(frames.subscriptionSucceeded(name));
      return;
    }
    if (kind === 'user') return this.#subscribeUser(name);
    let channelData: string | undefined;
    let member: { user: string; info: unknown } | undefined;
    if (kind === 'presence') {
      if (typeof data.channel_data !== 'string') return this.#refuse(name, 'presence channels need channel_data');
      channelData = data.channel_data;
      member = parseChannelData(channelData);
      if (member === undefined) return this.#refuse(name, 'channel_data must be JSON with a user_id');
    }
    if (kind !== 'public' && !validAuth(this.#app, data.auth, channelAuthText(this.socketId, name, channelData))) {
      return this.#refuse(name, 'Invalid signature: the auth does not sign this socket and channel');
    }
    const channel = heraldChannel(this.#app.id, name);
    // Taken at once, so that a second subscribe of the same channel meanwhile is only confirmed,
    // and an unsubscribe meanwhile finds it and undoes whatever part of it is done.
    const subscriber = new PusherSubscriber(this.#connection, this.socketId);
    const subscription: PusherSubscription = { channel, subscriber, member: undefined, userId: member?.user };
    this.#subscriptions.set(name, subscription);
    const current = (): boolean => this.#subscriptions.get(name) === subscription;
    try {
      if (member !== undefined) {
        const members = await presenceMembers(this.#context.presence, channel);
        if (members.size >= this.#app.limits.maxPresenceMembers && !members.has(member.user)) {
          if (current()) this.#unsubscribe(name);
          return this.#refuse(name, `The presence channel has its maximum of ${this.#app.limits.maxPresenceMembers} members`, 403);
        }
        if (!current()) return;
      }
      await this.#connection.subscribe(channel, { subscriber });
      if (!current()) return;
      if (member !== undefined) {
        subscription.member = new PresenceMember(channel, { connection: this.socketId, user: member.user, info: member.info }, { ...this.#context, appId: this.#app.id, pusherChannel: name });
        await subscription.member.join();
        if (!current()) return;
        const members = await presenceMembers(this.#context.presence, channel);
        if (!current()) return;
        // The socket's own user is a member, even if the list was read before Redis had the entry.
        if (!members.has(member.user)) members.set(member.user, member.info ?? null);
        this.#connection.send(frames.subscriptionSucceeded(name, frames.presenceData(members)));
      } else {
        this.#connection.send(frames.subscriptionSucceeded(name));
      }
    } catch (error) {
      if (current()) this.#unsubscribe(name);
      if (error instanceof HeraldError) return this.#refuse(name, error.message, error.statusCode);
      throw error;
    }
    subscriber.release();
  }

  /** `#server-to-user-<id>`: only the signed-in user's own, already subscribed at sign-in. */
  #subscribeUser(name: string): void {
    if (this.#user === undefined || name !== `#server-to-user-${this.#user}`) {
      return this.#refuse(name, 'Sign in as this user first (pusher:signin)');
    }
    this.#userSubscriber!.forwarding = true;
    this.#connection.send(frames.subscriptionSucceeded(name));
  }

  #unsubscribe(name: unknown): void {
    if (typeof name !== 'string') return;
    if (channelKind(name) === 'user' && this.#userSubscriber !== undefined) {
      this.#userSubscriber.forwarding = false;
      return;
    }
    const subscription = this.#subscriptions.get(name);
    if (subscription === undefined) return;
    this.#subscriptions.delete(name);
    this.#connection.unsubscribe(subscription.channel);
    if (subscription.member !== undefined) this.#context.leaves.track(subscription.member.leave());
  }

  async #signin(data: Record<string, unknown>): Promise<void> {
    const userData = data.user_data;
    if (typeof userData !== 'string' || !validAuth(this.#app, data.auth, userAuthText(this.socketId, userData))) {
      return this.#unauthorized('Invalid signin signature');
    }
    let id: unknown;
    try {
      id = (JSON.parse(userData) as { id?: unknown }).id;
    } catch {}
    if (!isUserId(id)) return this.#unauthorized('user_data must be JSON with a string id');
    if (this.#user !== undefined && this.#user !== id) return this.#unauthorized('This socket is signed in as another user');
    if (this.#user === undefined) {
      this.#user = id;
      this.#userSubscriber = new UserSubscriber(this.#connection, this.socketId);
      await this.#connection.subscribe(userChannel(this.#app.id, id), { subscriber: this.#userSubscriber, reserved: true });
    }
    if (!this.#closed) this.#connection.send(frames.signinSuccess(userData));
  }

  async #clientEvent(frame: frames.IncomingFrame): Promise<void> {
    const name = frame.channel;
    const subscription = typeof name === 'string' ? this.#subscriptions.get(name) : undefined;
    const data = frame.data ?? null;
    const json = JSON.stringify(data);
    const refusal = clientEventRefusal(this.#app, frame.event, name, subscription !== undefined, Buffer.byteLength(json));
    if (refusal !== undefined) return this.#error(refusal.code, refusal.message);
    if (!this.#rate.admit(this.#app.limits.clientEventsPerSecond)) return this.#error(RATE_LIMITED.code, RATE_LIMITED.message);
    const published: frames.PusherEventData = { event: frame.event, data };
    if (subscription!.userId !== undefined) published.user_id = subscription!.userId;
    await this.#context.publisher.publish(subscription!.channel, published, this.socketId);
    this.#context.events.emit({ name: 'client_event', appId: this.#app.id, channel: name as string, event: frame.event, data, socketId: this.socketId, userId: subscription!.userId });
  }

  /** A subscription refused: pusher-js reports `pusher:subscription_error` to the app's channel. */
  #refuse(channel: string, message: string, status = 401): void {
    this.#connection.send(frames.subscriptionError(channel, status, message));
  }

  #unauthorized(message: string): void {
    this.#error(PusherCloseCode.UNAUTHORIZED, message);
  }

  #error(code: number | null, message: string): void {
    this.#connection.send(frames.errorFrame(code, message));
  }
}

interface PusherSubscription {
  channel: string;
  subscriber: PusherSubscriber;
  member: PresenceMember | undefined;
  /** On presence channels: the member's user id, added to its client events. */
  userId: string | undefined;
}

/**
 * Delivers a channel's publications to one Pusher socket, skipping what the socket itself sent
 * (a client event, an HTTP API call with its `socket_id`). Holds them until the subscription is
 * confirmed, since Pusher clients expect `subscription_succeeded` first.
 */
class PusherSubscriber implements Subscriber {
  readonly #connection: Connection;
  readonly #socketId: string;
  #held: Buffer[] | undefined = [];

  constructor(connection: Connection, socketId: string) {
    this.#connection = connection;
    this.#socketId = socketId;
  }

  deliver(publication: Publication): void {
    if (publication.from === this.#socketId) return;
    const frame = frames.publicationFrame(publication);
    if (frame === undefined) return;
    if (this.#held !== undefined) this.#held.push(frame);
    else this.#connection.sendFrame(frame);
  }

  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const frame of held ?? []) this.#connection.sendFrame(frame);
  }
}

/**
 * A signed-in socket's user channel: subscribed at sign-in, so `terminate_connections` reaches the
 * socket whether or not the client subscribed; events are forwarded once it has.
 */
class UserSubscriber implements Subscriber {
  readonly #connection: Connection;
  readonly #socketId: string;
  forwarding = false;

  constructor(connection: Connection, socketId: string) {
    this.#connection = connection;
    this.#socketId = socketId;
  }

  deliver(publication: Publication): void {
    if (publication.json.includes(TERMINATE.event) && (publication.data as frames.PusherEventData).event === TERMINATE.event) {
      this.#connection.send(frames.errorFrame(PusherCloseCode.UNAUTHORIZED, 'Connections of this user were terminated'));
      this.#connection.close(PusherCloseCode.UNAUTHORIZED, 'terminated');
      return;
    }
    if (!this.forwarding || publication.from === this.#socketId) return;
    const frame = frames.publicationFrame(publication);
    if (frame !== undefined) this.#connection.sendFrame(frame);
  }
}

function objectOf(data: unknown): Record<string, unknown> {
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {}
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

function parseChannelData(text: string): { user: string; info: unknown } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const userId = (parsed as { user_id?: unknown })?.user_id;
  if (typeof userId !== 'string' && typeof userId !== 'number') return undefined;
  return { user: String(userId), info: (parsed as { user_info?: unknown }).user_info };
}
