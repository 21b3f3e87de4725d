/** A private message to this connection's user. */
export interface PrivateMessage {
  /** The sender's user id; null for messages from server code or the HTTP API. */
  from: string | null;
  data: unknown;
  /** Its inbox id, when it was stored: the SDK acknowledges it once the handler has returned. */
  inbox?: string;
  /** When it was stored (ms since the epoch). */
  sentAt?: number;
  /** True when it was stored while no connection of the user was reading, and replayed at connect. */
  replayed?: boolean;
}

/** Handles one message; the message is acknowledged once the returned promise resolves. */
export type MessageHandler = (message: PrivateMessage) => void | Promise<void>;

/** How many inbox ids are remembered to drop repeats (a message replayed after a lost ack). */
const REMEMBERED_IDS = 10_000;

/**
 * Private messages in, each handed over once and in order: stored messages (with an inbox id) are
 * acknowledged after the handlers have run, and one that comes again (its ack was lost with the
 * connection, so the server replayed it) is acknowledged again without being handed over. A
 * handler that throws leaves its message unacknowledged, so it comes back on the next connection.
 */
export class InboxReceiver {
  readonly #deliver: (message: PrivateMessage) => Promise<void>;
  readonly #ack: (id: string) => void;
  /** Ids handed over (or being handed over), oldest first. */
  readonly #seen = new Set<string>();
  #chain: Promise<void> = Promise.resolve();

  constructor(deliver: (message: PrivateMessage) => Promise<void>, ack: (id: string) => void) {
    this.#deliver = deliver;
    this.#ack = ack;
  }

  receive(message: PrivateMessage): void {
    const id = message.inbox;
    if (id !== undefined) {
      if (this.#seen.has(id)) return this.#ack(id);
      this.#remember(id);
    }
    this.#chain = this.#chain.then(async () => {
      try {
        await this.#deliver(message);
      } catch {
        if (id !== undefined) this.#seen.delete(id);
        return;
      }
      if (id !== undefined) this.#ack(id);
    });
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > REMEMBERED_IDS) this.#seen.delete(this.#seen.values().next().value as string);
  }
}
