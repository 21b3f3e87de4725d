import { randomInt } from 'node:crypto';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';
import type { NamespaceOptions } from '../channels/namespace.ts';
import { HeraldError, PusherCloseCode } from '../errors.ts';
import type { InFlight } from '../in-flight.ts';
import type { Presence } from '../presence/presence.ts';
import type { Connection } from '../transport/connection.ts';
import type { SocketHandler } from '../transport/socket-server.ts';
import type { Webhooks } from '../webhooks/webhooks.ts';
import { isPusherChannel, pusherChannelOf } from './channel-mapping.ts';
import * as frames from './frames.ts';
import { pusherHttpApi } from './http-api.ts';
import { PusherApps, type PusherApp, type PusherAppConfig } from './pusher-apps.ts';
import { PusherEvents, type PusherEventListener } from './pusher-events.ts';
import { PusherSocket } from './pusher-socket.ts';
import { PusherWebhooks } from './pusher-webhooks.ts';

export interface PusherServerDeps {
  apps: readonly PusherAppConfig[];
  http: FastifyInstance;
  /** Adds the `/app/:key` WebSocket route to Herald's socket server. */
  socketRoute: (path: string, handler: SocketHandler) => void;
  publisher: Publisher;
  presence: Presence;
  leaves: InFlight;
  log: FastifyBaseLogger;
  /** Herald channels starting with `prefix` that have subscribers somewhere in the cluster. */
  occupiedChannels: (prefix: string) => Promise<string[]>;
  /** Herald's webhook delivery, which also sends the apps' webhooks (pusher-webhooks.ts). */
  webhooks: Webhooks;
  /**
   * Follows the cluster-wide occupancy of Herald channels: the listener hears of each channel's
   * first subscriber anywhere and its last, on exactly one process (users/user-features.ts).
   */
  onChannelOccupancy: (listener: (channel: string, occupied: boolean) => void) => void;
}

/** Protocol versions spoken: pusher-js 7 and 8 speak 7; older clients 5 and 6, which differ from 7 in nothing used here. */
const PROTOCOLS = new Set([5, 6, 7]);
/**
 * Seconds of silence after which a client pings (`activity_timeout`). Under the idle timeouts of
 * common proxies (60 s), so a quiet connection stays open through them.
 */
const ACTIVITY_TIMEOUT_SECONDS = 30;

/**
 * The Pusher Channels protocol on a Herald server (docs/pusher.md): the `/app/{key}` socket route
 * and the `/apps/{app_id}/…` HTTP API, for the configured apps, over Herald's Publisher and
 * Presence, so that everything crosses processes as Herald's own channels do.
 */
export class PusherServer {
  readonly #apps: PusherApps;
  readonly #deps: PusherServerDeps;
  readonly #events = new PusherEvents();
  /** Socket ids are `<process>.<counter>`, the form the Pusher server libraries check for. */
  readonly #processPart = randomInt(1, 2 ** 31);
  #nextSocket = 0;
  readonly #connections = new Map<string, number>();

  constructor(deps: PusherServerDeps) {
    this.#deps = deps;
    this.#apps = new PusherApps(deps.apps);
    const webhooks = new PusherWebhooks(deps.webhooks);
    this.#events.onEvent(webhooks.send);
    // Occupancy costs a Redis script per channel's first and last local subscriber: followed only
    // when an endpoint wants to hear of it.
    if (webhooks.wantsOccupancy) deps.onChannelOccupancy((channel, occupied) => this.#occupancyChanged(channel, occupied));
    deps.socketRoute('/app/:key', (connection) => this.#accept(connection));
    pusherHttpApi(deps.http, { apps: this.#apps, publisher: deps.publisher, presence: deps.presence, occupiedChannels: deps.occupiedChannels });
    deps.log.info({ apps: deps.apps.map((app) => app.id) }, 'Pusher protocol on /app/{key} and /apps/{app_id}');
  }

  /**
   * Calls `listener` with every channel_occupied, channel_vacated, member_added, member_removed
   * and client_event: what Pusher reports by webhook, each raised on one process of the cluster.
   * Occupied and vacated are raised only while a webhook endpoint wants them.
   */
  onEvent(listener: PusherEventListener): void {
    this.#events.onEvent(listener);
  }

  #accept(connection: Connection): void {
    const app = this.#apps.byKey(connection.params.key!);
    if (app === undefined) return this.#refuse(connection, PusherCloseCode.APP_NOT_FOUND, `No app with key ${JSON.stringify(connection.params.key)}`);
    const version = connection.query.get('protocol');
    if (version === null) return this.#refuse(connection, PusherCloseCode.NO_PROTOCOL_VERSION, 'No protocol version given');
    if (!/^\d+$/.test(version)) return this.#refuse(connection, PusherCloseCode.INVALID_VERSION_FORMAT, 'The protocol version must be a number');
    if (!PROTOCOLS.has(Number(version))) return this.#refuse(connection, PusherCloseCode.UNSUPPORTED_PROTOCOL, `Protocol version ${version} is not supported (5 to 7 are)`);
    const open = this.#connections.get(app.id) ?? 0;
    if (app.limits.maxConnections > 0 && open >= app.limits.maxConnections) {
      return this.#refuse(connection, PusherCloseCode.OVER_CONNECTION_QUOTA, 'The app has its maximum of connections');
    }
    this.#connections.set(app.id, open + 1);
    const socketId = `${this.#processPart}.${this.#nextSocket++}`;
    const socket = new PusherSocket(app, connection, socketId, {
      publisher: this.#deps.publisher,
      presence: this.#deps.presence,
      events: this.#events,
      leaves: this.#deps.leaves,
      log: this.#deps.log,
    });
    connection.send(frames.connectionEstablished(socketId, ACTIVITY_TIMEOUT_SECONDS));
    connection.onMessage((text) => this.#receive(socket, connection, text));
    connection.onGoingAway(() => connection.send(frames.errorFrame(PusherCloseCode.RECONNECT, 'The server is shutting down: reconnect')));
    connection.onClose(() => {
      socket.closed();
      this.#closedOne(app);
    });
  }

  /** Failures become `pusher:error` frames; the socket stays open, as after any refused request. */
  async #receive(socket: PusherSocket, connection: Connection, text: string): Promise<void> {
    try {
      await socket.receive(text);
    } catch (error) {
      if (!(error instanceof HeraldError)) throw error;
      connection.send(frames.errorFrame(null, error.message));
    }
  }

  #refuse(connection: Connection, code: number, message: string): void {
    connection.send(frames.errorFrame(code, message));
    connection.close(code, message);
  }

  #closedOne(app: PusherApp): void {
    const open = (this.#connections.get(app.id) ?? 1) - 1;
    if (open === 0) this.#connections.delete(app.id);
    else this.#connections.set(app.id, open);
  }

  /**
   * A channel is occupied while anyone subscribes to it anywhere in the cluster: Pusher sockets,
   * and Herald's own clients of the mapped channel (one channel space).
   */
  #occupancyChanged(heraldName: string, occupied: boolean): void {
    const channel = pusherChannelOf(heraldName);
    // A Herald client may subscribe to a mapped name that no Pusher client could: not the app's.
    if (channel === undefined || this.#apps.byId(channel.appId) === undefined || !isPusherChannel(channel.name) || channel.name.startsWith('#')) return;
    this.#events.emit({ name: occupied ? 'channel_occupied' : 'channel_vacated', appId: channel.appId, channel: channel.name });
  }
}

/**
 * Herald's rules for the `pusher` namespace unless configured otherwise: Herald clients reach
 * Pusher channels only with a token whose `channels` claim lists them, and publish to them only
 * through server code and the HTTP API, since private and presence channels are authorized by the
 * Pusher apps' signatures, which Herald's `/connect` does not ask for.
 */
export const PUSHER_NAMESPACE: NamespaceOptions = { subscribe: { claim: 'channels' }, publish: false };
