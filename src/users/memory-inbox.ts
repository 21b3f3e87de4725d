import type { Inbox, InboxLimits, InboxMessage } from './inbox.ts';

/** Inboxes in this process's memory (the embedded broker): they last as long as the process. */
export class MemoryInbox implements Inbox {
  readonly #limits: InboxLimits;
  readonly #inboxes = new Map<string, InboxMessage[]>();
  #lastMs = 0;
  #seq = 0;

  constructor(limits: InboxLimits) {
    this.#limits = limits;
  }

  async store(user: string, json: string): Promise<{ id: string; sentAt: number } | undefined> {
    const messages = this.#current(user);
    if (messages.length >= this.#limits.maxMessages) return undefined;
    // Ids increase even when the clock stands still or steps back, as Redis stream ids do.
    const now = Date.now();
    if (now > this.#lastMs) {
      this.#lastMs = now;
      this.#seq = 0;
    } else {
      this.#seq++;
    }
    const message = { id: `${this.#lastMs}-${this.#seq}`, sentAt: this.#lastMs, json };
    messages.push(message);
    this.#inboxes.set(user, messages);
    return { id: message.id, sentAt: message.sentAt };
  }

  async read(user: string, limit: number): Promise<InboxMessage[]> {
    return this.#current(user).slice(0, limit);
  }

  async ack(user: string, ids: readonly string[]): Promise<number> {
    const messages = this.#inboxes.get(user);
    if (messages === undefined) return 0;
    const wanted = new Set(ids);
    const kept = messages.filter((message) => !wanted.has(message.id));
    if (kept.length === 0) this.#inboxes.delete(user);
    else this.#inboxes.set(user, kept);
    return messages.length - kept.length;
  }

  async close(): Promise<void> {
    this.#inboxes.clear();
  }

  /** The user's messages, without those past the age limit. */
  #current(user: string): InboxMessage[] {
    const messages = this.#inboxes.get(user) ?? [];
    const cutoff = Date.now() - this.#limits.maxAgeMs;
    let expired = 0;
    while (expired < messages.length && messages[expired]!.sentAt < cutoff) expired++;
    if (expired > 0) messages.splice(0, expired);
    if (messages.length === 0) this.#inboxes.delete(user);
    return messages;
  }
}
