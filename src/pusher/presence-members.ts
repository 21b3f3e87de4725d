import type { FastifyBaseLogger } from 'fastify';
import type { Publisher } from '../channels/publisher.ts';
import type { Presence, PresenceEntry } from '../presence/presence.ts';
import type { PusherEvents } from './pusher-events.ts';

/**
 * One Pusher socket's membership of a presence channel, on Herald's Presence (so members are
 * shared with `/connect` presence and across processes). `member_added` and `member_removed` are
 * per user, not per connection: Presence counts the user's entries in the same step as each join
 * and leave, so exactly one join sees the user's first entry and exactly one leave its last, on
 * whichever process they happen.
 *
 * They travel as Herald presence events (`join` / `leave`, data `{connection, user, info}`), which
 * Pusher subscribers turn into `pusher_internal:member_added` / `member_removed` and `/connect`
 * subscribers get as their `join` / `leave` pushes.
 */
export class PresenceMember {
  readonly #channel: string;
  readonly #entry: PresenceEntry;
  readonly #deps: PresenceMemberDeps;
  #state: 'idle' | 'joining' | 'joined' | 'over' = 'idle';

  constructor(channel: string, entry: PresenceEntry, deps: PresenceMemberDeps) {
    this.#channel = channel;
    this.#entry = entry;
    this.#deps = deps;
  }

  /** Writes the entry; announces the user if this is its first entry on the channel. */
  async join(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'joining';
    let count: number;
    try {
      count = await this.#deps.presence.join(this.#channel, this.#entry);
    } catch (error) {
      this.#state = 'over';
      throw error;
    }
    // Left while the entry was being written: the leave has undone it.
    if (this.#state !== 'joining') return;
    this.#state = 'joined';
    if (count === 1) {
      await this.#deps.publisher.publish(this.#channel, this.#entry, this.#entry.connection, { event: 'join' });
      this.#deps.events.emit({ name: 'member_added', appId: this.#deps.appId, channel: this.#deps.pusherChannel, userId: this.#entry.user! });
    }
  }

  /**
   * Removes the entry (even one still being written) and announces the user's leaving if it was
   * the user's last entry. Never rejects: shutdown waits for it before closing Redis.
   */
  leave(): Promise<void> {
    const state = this.#state;
    this.#state = 'over';
    if (state === 'idle' || state === 'over') return Promise.resolve();
    const { presence, publisher, log } = this.#deps;
    const entry = this.#entry;
    return presence
      .leave(this.#channel, entry.connection)
      .then(async (left) => {
        if (left !== 0) return;
        await publisher.publish(this.#channel, { connection: entry.connection, user: entry.user }, entry.connection, { event: 'leave' });
        this.#deps.events.emit({ name: 'member_removed', appId: this.#deps.appId, channel: this.#deps.pusherChannel, userId: entry.user! });
      })
      .catch((error: unknown) => {
        // Unreachable Redis: the entry is no longer refreshed and lapses within the presence TTL.
        log.warn({ connection: entry.connection, channel: this.#channel, err: error }, 'could not remove a Pusher presence member');
      });
  }
}

export interface PresenceMemberDeps {
  presence: Presence;
  publisher: Publisher;
  events: PusherEvents;
  log: FastifyBaseLogger;
  appId: string;
  /** The channel's Pusher name, for the events. */
  pusherChannel: string;
}

/** The channel's members by user id, with each user's info (from one of its entries). */
export async function presenceMembers(presence: Presence, channel: string): Promise<Map<string, unknown>> {
  const members = new Map<string, unknown>();
  for (const entry of await presence.list(channel)) {
    if (entry.user !== null && !members.has(entry.user)) members.set(entry.user, entry.info ?? null);
  }
  return members;
}
