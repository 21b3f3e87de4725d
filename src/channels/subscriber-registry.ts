import type { Broker } from '../broker/broker.ts';
import type { Publication } from './publication.ts';

/** Something on this process that receives a channel's publications: usually one socket. */
export interface Subscriber {
  deliver(publication: Publication): void;
  /**
   * Publications of the channel were lost on their way to this process and could not be refilled
   * from history (see history/gap-repair.ts). Subscribers that promise continuity react (the
   * /connect protocol closes with GAP_DETECTED so its client recovers); others may ignore it.
   */
  lost?(channel: string): void;
}

/**
 * Who on this process is subscribed to which channel.
 *
 * The broker hands each publication to `dispatch` once; the registry hands it to each local
 * subscriber once. The first subscriber of a channel subscribes this process in the broker and the
 * last one to leave unsubscribes it, so processes receive only the channels they need.
 */
export class SubscriberRegistry {
  readonly #broker: Broker;
  readonly #channels = new Map<string, Set<Subscriber>>();
  readonly #releaseListeners: Array<(channel: string) => void> = [];
  readonly #acquireListeners: Array<(channel: string) => void> = [];
  /** Publications handed to local subscribers, for /metrics. */
  delivered = 0;

  constructor(broker: Broker) {
    this.#broker = broker;
  }

  /** Adds `subscriber` to `channel`; resolves once the broker delivers the channel here. */
  async add(channel: string, subscriber: Subscriber): Promise<void> {
    let subscribers = this.#channels.get(channel);
    const first = subscribers === undefined;
    if (subscribers === undefined) this.#channels.set(channel, (subscribers = new Set()));
    subscribers.add(subscriber);
    if (first) for (const listener of this.#acquireListeners) listener(channel);
    try {
      await this.#broker.subscribe(channel);
    } catch (error) {
      this.remove(channel, subscriber);
      throw error;
    }
  }

  remove(channel: string, subscriber: Subscriber): void {
    const subscribers = this.#channels.get(channel);
    if (subscribers === undefined || !subscribers.delete(subscriber)) return;
    if (subscribers.size === 0) {
      this.#channels.delete(channel);
      this.#broker.unsubscribe(channel);
      for (const listener of this.#releaseListeners) listener(channel);
    }
  }

  /**
   * Calls `listener` whenever the last local subscriber of a channel leaves. What this process
   * kept about the channel (gap repair's position) is stale from then on: the broker stops sending
   * it here, so the next subscriber must start afresh.
   */
  onRelease(listener: (channel: string) => void): void {
    this.#releaseListeners.push(listener);
  }

  /** Calls `listener` whenever a channel gets its first local subscriber (undone by a release). */
  onAcquire(listener: (channel: string) => void): void {
    this.#acquireListeners.push(listener);
  }

  /** Hands a publication from the broker to every local subscriber of its channel. */
  readonly dispatch = (publication: Publication): void => {
    const subscribers = this.#channels.get(publication.channel);
    if (subscribers === undefined) return;
    this.delivered += subscribers.size;
    for (const subscriber of subscribers) subscriber.deliver(publication);
  };

  /** Tells every local subscriber of `channel` that publications were lost (Subscriber.lost). */
  lost(channel: string): void {
    for (const subscriber of this.#channels.get(channel) ?? []) subscriber.lost?.(channel);
  }

  /** The channels with local subscribers. */
  channels(): IterableIterator<string> {
    return this.#channels.keys();
  }

  /** Number of local subscribers of `channel`. */
  count(channel: string): number {
    return this.#channels.get(channel)?.size ?? 0;
  }

  /** Local subscriptions summed by `label(channel)` (for /metrics, at scrape time). */
  countsBy(label: (channel: string) => string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const [channel, subscribers] of this.#channels) {
      const key = label(channel);
      counts.set(key, (counts.get(key) ?? 0) + subscribers.size);
    }
    return counts;
  }

  /** Number of channels with at least one local subscriber. */
  get channelCount(): number {
    return this.#channels.size;
  }
}
