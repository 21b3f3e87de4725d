import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';
import type { Presence, PresenceEntry } from '../presence/presence.ts';
import type { Connection } from '../transport/connection.ts';

/**
 * One /connect subscription's place in its channel's presence: its entry, and the `join` and
 * `leave` pushes the channel's members see.
 *
 * A leave may come at any moment, above all while the join is still being written (the client
 * closed or unsubscribed a few milliseconds after subscribing), and it always wins: a join that
 * completes after it pushes nothing and keeps no entry (Presence promises that a leave undoes a
 * join still in flight), and every `join` pushed is followed by a `leave`. Without this, such
 * entries stayed listed, and refreshed, for the life of the process.
 */
export class PresenceMembership {
  readonly #channel: string;
  readonly #connection: Connection;
  readonly #presence: Presence;
  readonly #publisher: Publisher;
  readonly #log: FastifyBaseLogger;
  /** `joined` from the moment its `join` push is sent: from then on a `leave` push is due. */
  #state: 'idle' | 'joining' | 'joined' | 'over' = 'idle';

  constructor(channel: string, connection: Connection, presence: Presence, publisher: Publisher, log: FastifyBaseLogger) {
    this.#channel = channel;
    this.#connection = connection;
    this.#presence = presence;
    this.#publisher = publisher;
    this.#log = log;
  }

  /** Whether the entry is written and its `join` was pushed (so identity changes are announced). */
  get joined(): boolean {
    return this.#state === 'joined';
  }

  /** Writes the entry, then pushes `join`; rejects (leaving nothing behind) when the entry cannot be written. */
  async join(entry: PresenceEntry): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'joining';
    try {
      await this.#presence.join(this.#channel, entry);
    } catch (error) {
      this.#state = 'over';
      throw error;
    }
    // Left while the entry was being written: the leave has undone it, and no one was told.
    if (this.#state !== 'joining') return;
    this.#state = 'joined';
    await this.#connection.publish(this.#channel, entry, { event: 'join' });
  }

  /** Rewrites a joined entry (the connection signed in) and pushes a `join` that carries the change. */
  async update(entry: PresenceEntry): Promise<void> {
    if (this.#state !== 'joined') return;
    await this.#presence.join(this.#channel, entry);
    if (this.#state !== 'joined') return;
    await this.#connection.publish(this.#channel, entry, { event: 'join' });
  }

  /**
   * Removes the entry (even one still being written) and pushes `leave` if `join` was pushed.
   * Never rejects; resolves once both are done (shutdown waits for it before closing Redis).
   */
  leave(): Promise<void> {
    const state = this.#state;
    this.#state = 'over';
    if (state === 'idle' || state === 'over') return Promise.resolve();
    const connection = this.#connection.id;
    const channel = this.#channel;
    const removed = this.#presence.leave(channel, connection).then(
      () => true,
      (error: unknown) => {
        // Redis is unreachable: the entry is no longer refreshed, so it lapses within the presence TTL.
        this.#log.warn({ connection, channel, err: error }, 'could not remove a presence entry');
        return false;
      },
    );
    if (state !== 'joined') return removed.then(() => undefined);
    const entry: PresenceEntry = { connection, user: this.#connection.user ?? null };
    return removed
      .then(() => this.#publisher.publish(channel, entry, connection, { event: 'leave' }))
      .then(
        () => undefined,
        (error: unknown) => this.#log.warn({ connection, channel, err: error }, 'could not push a presence leave'),
      );
  }
}
