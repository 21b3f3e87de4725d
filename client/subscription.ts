import { Emitter } from './emitter.ts';
import type { HeraldClientError } from './errors.ts';
import type { HistoryEntry, PresenceClient, StreamPosition, SubscribeResult } from './protocol.ts';

/** What a handler learns about a publication besides its data. */
export interface PublicationContext {
  channel: string;
  /** Position in the channel's history; absent for channels without history and for messages published straight to Redis by other programs. */
  offset?: number;
  epoch?: string;
}

export type PublicationHandler = (data: unknown, context: PublicationContext) => void;

export interface SubscribedEvent {
  /** True after a resubscription that returned every missed publication (they were handed to the handler). */
  recovered: boolean;
  /** True when this is not the first subscription (after a reconnect or a detected gap). */
  resubscribed: boolean;
  /** Whether the channel keeps history, so reconnects can recover it. */
  recoverable: boolean;
}

export interface SubscriptionEvents extends Record<string, unknown> {
  /**
   * The server confirmed the subscription. After a reconnect, `resubscribed && !recovered` means
   * publications may have been missed: reload the state the channel feeds.
   */
  subscribed: SubscribedEvent;
  /** The server refused the subscription (e.g. a bad name or no permission); it is not retried. */
  error: HeraldClientError;
  join: PresenceClient;
  leave: PresenceClient;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/**
 * One channel the app listens to. Created by `Herald.subscribe`; it follows the client across
 * reconnects, resubscribing and recovering from the last offset it saw.
 *
 * The SDK hands each publication to the handler once, in offset order: a duplicate (offset already
 * seen) is dropped, and a skipped offset or a new epoch makes the subscription resubscribe from its
 * last position, so the server returns what was missed (or says it cannot).
 */
export class Subscription extends Emitter<SubscriptionEvents> {
  readonly channel: string;
  /** Resolves on the first confirmation; rejects if the server refuses the subscription. */
  readonly ready: Promise<SubscribedEvent>;
  #state: SubscriptionState = 'subscribing';
  #position: StreamPosition | undefined;
  #everSubscribed = false;
  readonly #handler: PublicationHandler;
  readonly #detach: (subscription: Subscription) => void;
  #settle: { resolve: (event: SubscribedEvent) => void; reject: (error: HeraldClientError) => void } | undefined;

  /** @internal Created by Herald.subscribe. */
  constructor(channel: string, handler: PublicationHandler, detach: (subscription: Subscription) => void, since?: StreamPosition) {
    super();
    this.#position = since;
    this.channel = channel;
    this.#handler = handler;
    this.#detach = detach;
    this.ready = new Promise((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.ready.catch(() => {});
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  /** The last position seen (what a resubscription recovers from). */
  get position(): StreamPosition | undefined {
    return this.#position;
  }

  /** Stops listening; the handler is not called again. */
  unsubscribe(): void {
    if (this.#state === 'unsubscribed') return;
    this.#state = 'unsubscribed';
    this.#detach(this);
  }

  /** @internal The subscribe request to send now. */
  subscribeRequest(): { channel: string; since?: StreamPosition } {
    this.#state = 'subscribing';
    return this.#position === undefined ? { channel: this.channel } : { channel: this.channel, since: this.#position };
  }

  /** @internal The server confirmed: hand over what it recovered, then go live. */
  confirmed(result: SubscribeResult): void {
    if (this.#state === 'unsubscribed') return;
    const event: SubscribedEvent = { recovered: result.recovered === true, resubscribed: this.#everSubscribed, recoverable: result.recoverable };
    this.#everSubscribed = true;
    this.#state = 'subscribed';
    const recovered: HistoryEntry[] = result.recovered === true ? (result.publications ?? []) : [];
    const position = result.offset !== undefined && result.epoch !== undefined ? { offset: result.offset, epoch: result.epoch } : undefined;
    this.emit('subscribed', event);
    this.#settle?.resolve(event);
    this.#settle = undefined;
    for (const entry of recovered) {
      if (this.#state !== 'subscribed') return;
      if (this.#position !== undefined && entry.offset <= this.#position.offset) continue;
      this.#position = { offset: entry.offset, epoch: position!.epoch };
      this.#handler(entry.data, { channel: this.channel, offset: entry.offset, epoch: position!.epoch });
    }
    this.#position = position;
  }

  /** @internal The server refused. */
  refused(error: HeraldClientError): void {
    this.#state = 'unsubscribed';
    this.#detach(this);
    this.emit('error', error);
    this.#settle?.reject(error);
    this.#settle = undefined;
  }

  /**
   * @internal A publication pushed for this channel. Returns false when it reveals a gap (or a new
   * epoch): the caller then resubscribes from `position`.
   */
  publication(data: unknown, offset: number | undefined, epoch: string | undefined): boolean {
    // Until confirmed, pushes belong to an earlier subscription being replaced: the reply covers them.
    if (this.#state !== 'subscribed') return true;
    if (offset === undefined || epoch === undefined) {
      this.#handler(data, { channel: this.channel });
      return true;
    }
    const position = this.#position;
    if (position !== undefined && epoch === position.epoch) {
      if (offset <= position.offset) return true;
      if (offset !== position.offset + 1) return false;
    } else if (position !== undefined) {
      return false;
    }
    this.#position = { offset, epoch };
    this.#handler(data, { channel: this.channel, offset, epoch });
    return true;
  }

  /** @internal A presence push. */
  presence(type: 'join' | 'leave', client: PresenceClient): void {
    if (this.#state === 'subscribed') this.emit(type, client);
  }

  /** @internal The connection dropped: the next connection resubscribes. */
  disconnected(): void {
    if (this.#state === 'subscribed') this.#state = 'subscribing';
  }
}
