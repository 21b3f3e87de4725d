import type { HistoryOptions } from '../channels/namespace.ts';
import type { Publication } from '../channels/publication.ts';
import type { History } from '../history/history.ts';

export interface PublishOptions {
  /** Id of the publishing connection, carried so that subscriptions can skip their own messages. */
  from?: string | undefined;
  /** Keep the publication in the channel's history, which gives it an offset and epoch. */
  history?: HistoryOptions | undefined;
  /**
   * Accept the publication once per key and channel within IDEMPOTENCY_TTL_SECONDS; a repeat is
   * not published and reports `duplicate: true` with the first one's offset.
   */
  idempotencyKey?: string | undefined;
  /** A presence event: the data is the client that joined or left. Never kept in history. */
  event?: 'join' | 'leave' | undefined;
  /**
   * The data's text, when it was published as a string unchanged (`json` is then its JSON
   * encoding): a broker that hands publications over in this process passes it on, so raw sockets
   * get the text without decoding `json` again. Brokers that send `json` elsewhere ignore it.
   */
  text?: string | undefined;
}

export interface PublishResult {
  /**
   * How many server processes (and other Redis subscribers) took the publication. 0 means no one
   * is subscribed to the channel anywhere, which callers may report ("user is not online").
   */
  reached: number;
  /** Position in the channel's history, when the channel keeps history. */
  offset?: number;
  epoch?: string;
  /** True when this idempotency key was already used: nothing was published this time. */
  duplicate?: boolean;
}

/** Receives every publication on a channel this process is subscribed to, once. */
export type PublicationSink = (publication: Publication) => void;

export interface BrokerHealth {
  ready: boolean;
  /** One entry per connection the broker depends on, e.g. `{ publisher: 'ready' }`. */
  connections: Record<string, string>;
}

/**
 * Moves publications between server processes.
 *
 * A process subscribes to a channel in the broker only while it has at least one local subscriber
 * of it (the `SubscriberRegistry` keeps the count and calls `subscribe` / `unsubscribe` on the first
 * and last), so a publication is sent only to processes that want it. Each implementation passes
 * the same conformance suite (test/broker-conformance.test.ts).
 */
export interface Broker {
  readonly kind: 'memory' | 'redis' | 'redis-cluster';
  /** The history that `publish` writes to when asked to keep a publication. */
  readonly history: History;
  /** Connects and starts handing publications to `sink`. */
  start(sink: PublicationSink): Promise<void>;
  /** Resolves once the broker has accepted the publication; rejects with BROKER_UNAVAILABLE. */
  publish(channel: string, json: string, options?: PublishOptions): Promise<PublishResult>;
  /** Resolves once publications on `channel` are being received. Idempotent. */
  subscribe(channel: string): Promise<void>;
  /** Stops receiving `channel`. Idempotent. */
  unsubscribe(channel: string): void;
  health(): BrokerHealth;
  /** Releases the broker's connections, by `deadline` (ms since the epoch) whatever Redis does. */
  close(deadline?: number): Promise<void>;
}
