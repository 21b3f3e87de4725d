/** One message kept in a user's inbox. */
export interface InboxMessage {
  /** Its id in the inbox: increasing in the order messages were stored (`<ms>-<seq>`). */
  id: string;
  /** When it was stored, ms since the epoch. */
  sentAt: number;
  /** The message as JSON text: `{"from": …, "data": …}`. */
  json: string;
}

/** How much an inbox keeps. */
export interface InboxLimits {
  /** Messages kept per user; storing one more is refused (the sender is told). */
  maxMessages: number;
  /** How long a message is kept unacknowledged, in ms; older ones are dropped. */
  maxAgeMs: number;
}

/**
 * Each user's durable inbox: messages kept until acknowledged, capped by count and age. Memory and
 * Redis (Streams) implementations pass one conformance suite (test/inbox-conformance.test.ts).
 */
export interface Inbox {
  /**
   * Appends a message; resolves with its id and time, or undefined when the inbox is full (nothing
   * was stored).
   */
  store(user: string, json: string): Promise<{ id: string; sentAt: number } | undefined>;
  /** The oldest unacknowledged messages (at most `limit`), in the order they were stored. */
  read(user: string, limit: number): Promise<InboxMessage[]>;
  /** Removes the messages with these ids; resolves with how many were there. */
  ack(user: string, ids: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

/** Inbox ids are `<ms>-<seq>`: this compares two of them in storing order. */
export function compareInboxIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}

const INBOX_ID = /^\d{1,16}-\d{1,16}$/;

export function isInboxId(value: unknown): value is string {
  return typeof value === 'string' && INBOX_ID.test(value);
}
