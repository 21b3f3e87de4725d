import { ConfigError } from '../config.ts';
import type { PusherWebhookConfig } from './pusher-webhooks.ts';

/**
 * One app served over the Pusher Channels protocol, as configured (`pusherApps`,
 * `HERALD_PUSHER_APPS`). Apps are kept apart: each has its own channels (see channel-mapping.ts),
 * presence and limits.
 */
export interface PusherAppConfig {
  /** The app id of the HTTP API (`/apps/{id}/…`); 1-24 letters, digits, `_` or `-`. */
  id: string;
  /** The public key clients connect with (`/app/{key}`). */
  key: string;
  /** Signs channel authorizations, user sign-ins and HTTP API requests. */
  secret: string;
  /** Whether clients may trigger `client-*` events on private and presence channels. Default false. */
  clientEvents?: boolean;
  limits?: Partial<PusherAppLimits>;
  /** Where the app's webhooks go (pusher-webhooks.ts), each URL with the events it wants. */
  webhooks?: PusherWebhookConfig[];
}

export interface PusherAppLimits {
  /** Open sockets of the app per process; 0: no limit. */
  maxConnections: number;
  /** Client events one socket may trigger per second; more get `pusher:error` 4301 and are dropped. */
  clientEventsPerSecond: number;
  /** Users on one presence channel; one more is refused its subscription. */
  maxPresenceMembers: number;
  /** Bytes of one event's data (HTTP API and client events). */
  maxEventBytes: number;
  /** Events in one `batch_events` call. */
  maxBatchEvents: number;
}

/** Pusher's own limits, which its clients and server libraries are written against. */
export const DEFAULT_LIMITS: Readonly<PusherAppLimits> = Object.freeze({
  maxConnections: 0,
  clientEventsPerSecond: 10,
  maxPresenceMembers: 100,
  maxEventBytes: 10_240,
  maxBatchEvents: 10,
});

/** An app with its defaults filled in. */
export interface PusherApp {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  readonly clientEvents: boolean;
  readonly limits: Readonly<PusherAppLimits>;
}

/** The configured apps, found by key (sockets) or id (HTTP API). */
export class PusherApps {
  readonly #byKey = new Map<string, PusherApp>();
  readonly #byId = new Map<string, PusherApp>();

  constructor(configs: readonly PusherAppConfig[]) {
    for (const config of configs) {
      if (this.#byId.has(config.id)) throw new ConfigError(`pusherApps: the app id ${JSON.stringify(config.id)} is used twice`);
      if (this.#byKey.has(config.key)) throw new ConfigError(`pusherApps: the app key ${JSON.stringify(config.key)} is used twice`);
      const app: PusherApp = Object.freeze({
        id: config.id,
        key: config.key,
        secret: config.secret,
        clientEvents: config.clientEvents === true,
        limits: Object.freeze({ ...DEFAULT_LIMITS, ...config.limits }),
      });
      this.#byId.set(app.id, app);
      this.#byKey.set(app.key, app);
    }
  }

  get size(): number {
    return this.#byId.size;
  }

  byKey(key: string): PusherApp | undefined {
    return this.#byKey.get(key);
  }

  byId(id: string): PusherApp | undefined {
    return this.#byId.get(id);
  }
}
