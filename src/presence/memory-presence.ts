import type { Presence, PresenceEntry } from './presence.ts';

/** Presence in this process's memory (the embedded broker): entries live exactly as long as their subscription. */
export class MemoryPresence implements Presence {
  readonly #channels = new Map<string, Map<string, PresenceEntry>>();

  async join(channel: string, entry: PresenceEntry): Promise<void> {
    let entries = this.#channels.get(channel);
    if (entries === undefined) this.#channels.set(channel, (entries = new Map()));
    entries.set(entry.connection, entry);
  }

  async leave(channel: string, connection: string): Promise<void> {
    const entries = this.#channels.get(channel);
    if (entries === undefined) return;
    entries.delete(connection);
    if (entries.size === 0) this.#channels.delete(channel);
  }

  async list(channel: string): Promise<PresenceEntry[]> {
    return [...(this.#channels.get(channel)?.values() ?? [])];
  }

  async close(): Promise<void> {
    this.#channels.clear();
  }
}
