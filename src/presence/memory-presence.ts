import type { Presence, PresenceEntry } from './presence.ts';

/** Presence in this process's memory (the embedded broker): entries live exactly as long as their subscription. */
export class MemoryPresence implements Presence {
  readonly #channels = new Map<string, Map<string, PresenceEntry>>();

  async join(channel: string, entry: PresenceEntry): Promise<number> {
    let entries = this.#channels.get(channel);
    if (entries === undefined) this.#channels.set(channel, (entries = new Map()));
    entries.set(entry.connection, entry);
    return countOf(entries, entry.user);
  }

  async leave(channel: string, connection: string): Promise<number | undefined> {
    const entries = this.#channels.get(channel);
    const entry = entries?.get(connection);
    if (entries === undefined || entry === undefined) return undefined;
    entries.delete(connection);
    if (entries.size === 0) this.#channels.delete(channel);
    return countOf(entries, entry.user);
  }

  async list(channel: string): Promise<PresenceEntry[]> {
    return [...(this.#channels.get(channel)?.values() ?? [])];
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}

function countOf(entries: Map<string, PresenceEntry>, user: string | null): number {
  let count = 0;
  for (const entry of entries.values()) if (entry.user === user) count++;
  return count;
}
