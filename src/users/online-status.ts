/** A subject's status as `online` answers it. */
export interface SubjectStatus {
  online: boolean;
  /** When its last member left (ms since the epoch); null while online or when never seen. */
  lastSeen: number | null;
}

/** What a join changed, decided atomically across the cluster. */
export interface JoinOutcome {
  /** The subject had no member anywhere and now has one: exactly one join anywhere sees this. */
  online: boolean;
  /**
   * The subject's notified state was not `online` and now is: the one caller that sees this emits
   * the "came online" notice (a webhook). False after a reconnect within the offline debounce.
   */
  notify: boolean;
}

/** A change found in the background: came online (JoinOutcome) or went offline at `lastSeen`. */
export type Transition = { online: true; notify: boolean } | { online: false; lastSeen: number };

/**
 * Which subjects (users, or channels) have members (connections, or processes) anywhere in the
 * cluster, with the transitions between "no member" and "some member" decided once for the whole
 * cluster: of all the processes that add or remove members at the same moment, exactly one is told
 * that the subject came online or went offline.
 *
 * A member outlives the last refresh of its process by the TTL: a process that dies without
 * cleaning up loses its members then, and the process that finds them lapsed is told of the
 * transition through `onLapsed`. Memory and Redis implementations pass one conformance suite
 * (test/online-status-conformance.test.ts).
 */
export interface OnlineStatus {
  /** Adds `member` to `subject` (kept alive by this process until `leave`). */
  join(subject: string, member: string): Promise<JoinOutcome>;
  /**
   * Removes `member`. Resolves with the time the subject went offline (its `lastSeen`) when this
   * was its last member anywhere, undefined otherwise.
   */
  leave(subject: string, member: string): Promise<number | undefined>;
  /**
   * The debounced "went offline" notice: true for exactly one caller, and only when the subject is
   * still offline since `lastSeen` (no member came back meanwhile) and its notified state is
   * `online`, which then becomes `offline`.
   */
  confirmOffline(subject: string, lastSeen: number): Promise<boolean>;
  /** The status of each subject, in one round trip. */
  lookup(subjects: readonly string[]): Promise<Map<string, SubjectStatus>>;
  /**
   * Called for the transitions this process's background work finds (not those `join` and `leave`
   * return): the members of a dead process lapsed and left the subject with none, or a refresh put
   * back members that had lapsed while Redis was unreachable. Each is reported by one process.
   */
  onTransition(listener: (subject: string, transition: Transition) => void): void;
  close(): Promise<void>;
}
