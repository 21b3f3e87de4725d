/** One subscriber of a channel, as presence reports it. */
export interface PresenceEntry {
  /** The connection id (unique across the cluster). */
  connection: string;
  /** The user id, or null for an anonymous connection. */
  user: string | null;
  /** What the client said about itself when subscribing (untrusted, at most 1 KB of JSON). */
  info?: unknown;
}

/**
 * Who is subscribed to which presence channel, across every process. Entries of a process that
 * dies without cleaning up disappear within the presence TTL, because live processes keep
 * refreshing theirs. Memory and Redis implementations pass the same conformance suite.
 */
export interface Presence {
  /**
   * Adds (or replaces) the connection's entry. A join that fails leaves no entry behind, and a
   * `leave` of the same connection made while the join is still in flight wins: once both have
   * settled the entry is gone, and this process does not keep it alive.
   *
   * Resolves with how many entries the entry's user has on the channel with this one, counted in
   * the same step as the write (across processes with Redis): exactly one join of a user sees 1,
   * however many of its connections join at once, so "user joined" can be announced once per user.
   */
  join(channel: string, entry: PresenceEntry): Promise<number>;
  /**
   * Removes the connection's entry. Resolves with how many entries its user still has on the
   * channel, counted in the same step, or `undefined` when there was no entry to remove (already
   * removed, lapsed, or never written): exactly one leave sees 0 when a user's last entry goes.
   */
  leave(channel: string, connection: string): Promise<number | undefined>;
  /** The channel's current entries, in no particular order. */
  list(channel: string): Promise<PresenceEntry[]>;
  close(): Promise<void>;
}
