/**
 * A channel's history: the publications it kept, each with an offset, strictly increasing per
 * channel, and an epoch that names the history those offsets belong to. When the history is lost
 * (Redis flushed or restarted, keys expired, memory broker restarted) the channel gets a new epoch,
 * so a client holding an old position can tell that it cannot be recovered.
 *
 * Publications are written into history by `Broker.publish` (atomically with the publish itself);
 * this interface reads it. Memory and Redis implementations pass the same conformance suite.
 */
export interface History {
  /** The channel's position, and the publications the query selects, oldest first. */
  read(channel: string, query?: HistoryQuery): Promise<HistoryPage>;
  /** Forgets the channel's history: the next publication starts a new epoch at offset 1. */
  remove(channel: string): Promise<void>;
}

/** Where a channel's history stands: the offset of its newest publication in an epoch. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface HistoryEntry {
  offset: number;
  /** The data as JSON text. */
  json: string;
  /** The publishing connection, when it was one (so a refilled publication still skips its own no-echo sender). */
  from?: string | undefined;
}

export interface HistoryQuery {
  /**
   * Only publications after this position. With a different epoch nothing is returned (the
   * position the client holds belongs to a history that no longer exists).
   * Without `since`, the newest publications.
   */
  since?: StreamPosition | undefined;
  /** At most this many publications (the first ones after `since`, or the newest ones). 0: position only. */
  limit?: number | undefined;
}

export interface HistoryPage {
  position: StreamPosition;
  publications: HistoryEntry[];
}

/** How long an idempotency key is remembered per channel. */
export const IDEMPOTENCY_TTL_SECONDS = 300;

/**
 * How long a channel's offset and epoch outlive its last publication in Redis (memory history keeps
 * them only while the channel has publications or subscribers: see MemoryHistory). Longer than the history
 * itself, so that a client coming back to a quiet channel after the publications expired is told
 * `recovered: true` when it missed nothing, rather than a needless new epoch.
 */
export const POSITION_TTL_SECONDS = 24 * 3600;

/**
 * Whether `page` (read with `since` and no limit) holds every publication after `since`: same
 * epoch, and either nothing new or a contiguous run from `since.offset + 1` to the current offset.
 */
export function isRecovered(since: StreamPosition, page: HistoryPage): boolean {
  const { position, publications } = page;
  if (since.epoch !== position.epoch || since.offset > position.offset) return false;
  if (since.offset === position.offset) return true;
  return publications[0]?.offset === since.offset + 1 && publications.at(-1)?.offset === position.offset && publications.length === position.offset - since.offset;
}
