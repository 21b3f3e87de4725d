import { userChannel } from '../channels/channel-name.ts';
import type { Publisher } from '../channels/publisher.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Webhooks } from '../webhooks/webhooks.ts';
import type { Inbox } from './inbox.ts';

/** The answer to a private message: whether it reached a connection, and whether it was kept. */
export interface SendResult {
  user: string;
  /** Some connection of the user was open somewhere: the message was pushed to it. */
  live: boolean;
  /** Kept in the user's inbox until acknowledged. */
  stored: boolean;
  /** Its inbox id, when stored. */
  inbox?: string;
  /** The same as `live` (the reply's field before inboxes existed). */
  online: boolean;
}

/**
 * Private messages to users: pushed live to every connection of the recipient, and, with `store`,
 * kept in the recipient's inbox until a connection acknowledges them (replayed at each connect
 * until then). A message that is stored but reached no connection is `message.stored` for the
 * webhooks. Server code reaches it as `herald.messages`.
 *
 * @example
 * // From server code: kept for bob until one of his clients acknowledges it.
 * const { live, stored } = await herald.messages.send(null, 'bob', { text: 'Your order shipped' }, { store: true });
 */
export class PrivateMessages {
  readonly #publisher: Publisher;
  readonly #inbox: Inbox;
  readonly #webhooks: Webhooks;
  readonly #storeByDefault: boolean;

  constructor(publisher: Publisher, inbox: Inbox, webhooks: Webhooks, storeByDefault: boolean) {
    this.#publisher = publisher;
    this.#inbox = inbox;
    this.#webhooks = webhooks;
    this.#storeByDefault = storeByDefault;
  }

  get inbox(): Inbox {
    return this.#inbox;
  }

  /**
   * Sends `data` from `from` (null: server code) to `user`. Rejects with HERALD_ERR_INBOX_FULL when
   * it was to be stored and the inbox is full (then it is not sent live either: the sender learns
   * that the user is not keeping up and decides what to do).
   */
  async send(from: string | null, user: string, data: unknown, options: { store?: boolean; connection?: string } = {}): Promise<SendResult> {
    const store = options.store ?? this.#storeByDefault;
    let json: string | undefined;
    try {
      json = JSON.stringify({ from, data });
    } catch (error) {
      throw new HeraldError(Errors.BAD_REQUEST, 'Published data cannot be encoded as JSON (nested too deeply?)', { cause: error });
    }
    let stored: { id: string; sentAt: number } | undefined;
    if (store) {
      stored = await this.#inbox.store(user, json);
      if (stored === undefined) throw new HeraldError(Errors.INBOX_FULL, `The inbox of ${JSON.stringify(user)} is full: the message was neither stored nor sent`);
    }
    const payload = stored === undefined ? { from, data } : { from, data, inbox: stored.id, sentAt: stored.sentAt };
    const { reached } = await this.#publisher.publish(userChannel(user), payload, options.connection, { reserved: true });
    const live = reached > 0;
    if (stored !== undefined && !live) this.#webhooks.emitLogged('message.stored', { user, from, inbox: stored.id, sentAt: stored.sentAt, data });
    return stored === undefined ? { user, live, stored: false, online: live } : { user, live, stored: true, inbox: stored.id, online: live };
  }
}
