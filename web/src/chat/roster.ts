import type { PresenceClient } from '../../../client/index.ts';

/**
 * The name a chatter goes by: its authenticated user, else the name its page put in the presence
 * `info` (the default app has no accounts).
 */
export function nameOf(client: PresenceClient): string | undefined {
  if (client.user !== null) return client.user;
  const name = (client.info as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * Who is in a room, by name, from presence: a snapshot (the `presence` reply) plus the join and
 * leave pushes. A person with two tabs is two connections, present until the last of them leaves.
 *
 * Pushes that arrive while a snapshot is being fetched are replayed on top of it: the snapshot may
 * have been read before or after them, and replaying a join or a leave twice changes nothing.
 */
export class Roster {
  #connections = new Map<string, string>();
  #inFlight: Array<['join' | 'leave', PresenceClient]> | undefined;

  /** The users present, sorted. */
  get users(): string[] {
    return [...new Set(this.#connections.values())].sort((a, b) => a.localeCompare(b));
  }

  has(user: string): boolean {
    for (const present of this.#connections.values()) if (present === user) return true;
    return false;
  }

  /** Call before asking for a snapshot. */
  snapshotRequested(): void {
    this.#inFlight = [];
  }

  snapshot(clients: PresenceClient[]): void {
    this.#connections = new Map();
    for (const client of clients) {
      const name = nameOf(client);
      if (name !== undefined) this.#connections.set(client.connection, name);
    }
    const replay = this.#inFlight ?? [];
    this.#inFlight = undefined;
    for (const [type, client] of replay) this.#apply(type, client);
  }

  /**
   * Applies a push; returns the user who arrived (first connection) or went (last connection),
   * or undefined when the set of users did not change.
   */
  event(type: 'join' | 'leave', client: PresenceClient): string | undefined {
    this.#inFlight?.push([type, client]);
    return this.#apply(type, client);
  }

  #apply(type: 'join' | 'leave', client: PresenceClient): string | undefined {
    // A leave carries no info: the name is the one the connection joined with.
    const name = this.#connections.get(client.connection) ?? nameOf(client);
    if (name === undefined) return undefined;
    const before = this.has(name);
    if (type === 'join') this.#connections.set(client.connection, name);
    else this.#connections.delete(client.connection);
    return before === this.has(name) ? undefined : name;
  }
}
