import { randomBytes } from 'node:crypto';
import type { HistoryOptions } from '../channels/namespace.ts';
import { IDEMPOTENCY_TTL_SECONDS, type History, type HistoryEntry, type HistoryPage, type HistoryQuery, type StreamPosition } from './history.ts';

/**
 * Data (bytes of JSON as UTF-8) a channel's memory history holds at most, whatever its `size`: it
 * lives in the server's own memory, and retained large publications inflate RSS beyond it (with
 * 256 KB publications, keeping 100 of them made a 100 MB stream past a stalled client grow the
 * server by over 150 MB; test/slow-consumer.test.ts allows 80).
 */
export const MEMORY_HISTORY_MAX_BYTES = 1024 * 1024;

/**
 * Channels whose position memory history keeps at most. Past it, creating one evicts the channel
 * created longest ago that has no local subscriber (its history is lost: a new epoch). About 230
 * bytes each when empty, so the cap bounds idle positions to a few tens of MB.
 */
export const MEMORY_HISTORY_MAX_CHANNELS = 100_000;

/**
 * Idempotency keys memory history remembers at most. Keys are kept in the order they were first
 * used and all live IDEMPOTENCY_TTL_SECONDS, so past the cap the oldest key, the next to expire
 * anyway, is forgotten early.
 */
export const MEMORY_HISTORY_MAX_IDEMPOTENCY_KEYS = 1_000_000;

interface ChannelHistory {
  epoch: string;
  /** The offset of the newest publication. */
  offset: number;
  /**
   * The kept publications' JSON as UTF-8, back to back, oldest first, outside the JS heap. Kept as
   * strings (one per publication, each living for the next hundred publications), every entry was
   * copied by two young-generation collections and then marked by every full one: with 5,000
   * channels at one publication a second that was the largest single cost of the publish path. In
   * a Buffer the collector sees one object per channel. Undefined while nothing is kept.
   */
  data: Buffer | undefined;
  /**
   * Where each entry ends in `data`; entry i starts where entry i-1 ends (0 for the first). Entries
   * before `first` are dropped; their ends stay until the next compaction, which moves the kept
   * bytes to the front. The newest (the last) has `offset`, so entry i has
   * `offset - (ends.length - 1 - i)`.
   */
  ends: number[];
  first: number;
  /** Bytes the kept entries take. */
  bytes: number;
  /** When every entry expires together: ttlSeconds after the last publication, as with Redis. */
  expiresAt: number;
}

/** The smallest Buffer a channel's history starts with. */
const MIN_CAPACITY = 1024;

/**
 * History in this process's memory (the embedded broker).
 *
 * State exists only for channels that hold publications or have local subscribers: a read or a
 * subscribe of a never-published channel creates none, and a channel whose publications expired
 * is freed once nobody here is subscribed to it.
 *
 * Epochs without state: a channel with no state reports the current "era" epoch, and its next
 * incarnation takes that epoch, so a client that saw the empty channel continues seamlessly into
 * its first publications. Freeing or evicting a channel starts a new era, so a freed channel never
 * comes back under an epoch it had before. A subscribed channel without state keeps the epoch it
 * reported when subscribed (its subscriber holds it), whatever eras pass meanwhile. Eras are random
 * per process start, so a restarted server never reuses a position a client holds.
 */
export class MemoryHistory implements History {
  readonly #channels = new Map<string, ChannelHistory>();
  /** Channels with local subscribers, and the epoch each reported when it had no state. */
  readonly #subscribed = new Map<string, string>();
  readonly #idempotency = new Map<string, { result: StreamPosition | undefined; expiresAt: number }>();
  readonly #maxChannels: number;
  readonly #maxIdempotencyKeys: number;
  readonly #epochPrefix = randomBytes(4).toString('base64url');
  #era = 0;
  #eraEpoch = this.#epochOf(0);
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { maxChannels?: number; maxIdempotencyKeys?: number } = {}) {
    this.#maxChannels = options.maxChannels ?? MEMORY_HISTORY_MAX_CHANNELS;
    this.#maxIdempotencyKeys = options.maxIdempotencyKeys ?? MEMORY_HISTORY_MAX_IDEMPOTENCY_KEYS;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000).unref();
  }

  /** Channels whose position is kept (for tests and monitoring). */
  get channelCount(): number {
    return this.#channels.size;
  }

  /**
   * Records a publication (called by MemoryBroker.publish). Returns its position, or for a
   * repeated idempotency key the position of the first one with `duplicate: true`.
   */
  append(channel: string, json: string, history: HistoryOptions | undefined, idempotencyKey: string | undefined): { position: StreamPosition | undefined; duplicate: boolean } {
    const now = Date.now();
    let idempotencyId: string | undefined;
    if (idempotencyKey !== undefined) {
      // A channel name never contains a newline, so this splits one way only.
      idempotencyId = `${channel}\n${idempotencyKey}`;
      const seen = this.#idempotency.get(idempotencyId);
      if (seen !== undefined && seen.expiresAt > now) return { position: seen.result, duplicate: true };
    }
    let position: StreamPosition | undefined;
    if (history !== undefined) {
      let state = this.#channels.get(channel);
      if (state === undefined) state = this.#create(channel);
      else if (state.expiresAt <= now) this.#expire(state);
      state.offset += 1;
      const length = Buffer.byteLength(json);
      let end = state.ends.length === 0 ? 0 : state.ends[state.ends.length - 1]!;
      if (state.data === undefined || end + length > state.data.length) end = this.#makeRoom(state, length);
      state.data!.write(json, end, 'utf8');
      const ends = state.ends;
      ends.push(end + length);
      let first = state.first;
      let bytes = state.bytes + length;
      // Dropped from the front by moving `first`; the bytes go at the next compaction.
      while (ends.length - first > history.size) bytes -= entryBytes(ends, first++);
      while (bytes > MEMORY_HISTORY_MAX_BYTES && first < ends.length - 1) bytes -= entryBytes(ends, first++);
      state.bytes = bytes;
      state.first = first;
      state.expiresAt = now + history.ttlSeconds * 1000;
      position = { offset: state.offset, epoch: state.epoch };
    }
    if (idempotencyId !== undefined) {
      // Delete first: a key whose entry expired goes to the back of the order again.
      this.#idempotency.delete(idempotencyId);
      if (this.#idempotency.size >= this.#maxIdempotencyKeys) this.#idempotency.delete(this.#idempotency.keys().next().value!);
      this.#idempotency.set(idempotencyId, { result: position, expiresAt: now + IDEMPOTENCY_TTL_SECONDS * 1000 });
    }
    return { position, duplicate: false };
  }

  async read(channel: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    let state = this.#channels.get(channel);
    if (state !== undefined && state.expiresAt <= Date.now()) {
      if (this.#subscribed.has(channel)) this.#expire(state);
      else {
        this.#free(channel);
        state = undefined;
      }
    }
    if (state === undefined) return { position: { offset: 0, epoch: this.#subscribed.get(channel) ?? this.#eraEpoch }, publications: [] };
    const position = { offset: state.offset, epoch: state.epoch };
    const { ends, first, data } = state;
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    // Offsets are consecutive up to the newest, the last entry: an offset maps to an index.
    let start: number;
    let end: number;
    if (query.since !== undefined) {
      if (query.since.epoch !== state.epoch) return { position, publications: [] };
      start = Math.max(first, ends.length - (state.offset - query.since.offset));
      end = Math.min(ends.length, start + limit);
    } else {
      start = limit === 0 ? ends.length : Math.max(first, ends.length - limit);
      end = ends.length;
    }
    const publications: HistoryEntry[] = [];
    const lastIndex = ends.length - 1;
    for (let i = start; i < end; i++) {
      publications.push({ offset: state.offset - (lastIndex - i), json: data!.toString('utf8', i === 0 ? 0 : ends[i - 1]!, ends[i]!) });
    }
    return { position, publications };
  }

  async remove(channel: string): Promise<void> {
    this.#free(channel);
    if (this.#subscribed.has(channel)) this.#subscribed.set(channel, this.#eraEpoch);
  }

  /** The broker has a local subscriber of `channel` now: its position must stay while it does. */
  subscribed(channel: string): void {
    if (!this.#subscribed.has(channel)) this.#subscribed.set(channel, this.#channels.get(channel)?.epoch ?? this.#eraEpoch);
  }

  /** The broker's last local subscriber of `channel` left. */
  unsubscribed(channel: string): void {
    this.#subscribed.delete(channel);
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#channels.clear();
    this.#subscribed.clear();
    this.#idempotency.clear();
  }

  #create(channel: string): ChannelHistory {
    if (this.#channels.size >= this.#maxChannels) this.#evictOldestUnsubscribed();
    const state: ChannelHistory = { epoch: this.#subscribed.get(channel) ?? this.#eraEpoch, offset: 0, data: undefined, ends: [], first: 0, bytes: 0, expiresAt: 0 };
    this.#channels.set(channel, state);
    return state;
  }

  /** Map order is creation order: the first unsubscribed channel is the oldest. */
  #evictOldestUnsubscribed(): void {
    for (const channel of this.#channels.keys()) {
      if (!this.#subscribed.has(channel)) return this.#free(channel);
    }
  }

  #expire(state: ChannelHistory): void {
    state.data = undefined;
    state.ends = [];
    state.first = 0;
    state.bytes = 0;
  }

  /**
   * Makes room for `length` more bytes at the end of the channel's data: moves the kept entries to
   * the front of the Buffer (dropping the ends of dropped ones), in a new Buffer half as large again
   * as they and the new entry need when they would fill more than three quarters of it (or less
   * than an eighth). Returns
   * where the new entry starts. Each compaction copies what is kept once, after at least a quarter
   * of the Buffer has been appended since the last, so the copying per publication stays small.
   */
  #makeRoom(state: ChannelHistory, length: number): number {
    const { ends, first } = state;
    const from = first === 0 ? 0 : ends[first - 1]!;
    const to = ends.length === 0 ? 0 : ends[ends.length - 1]!;
    const kept = to - from;
    const needed = kept + length;
    const old = state.data;
    let data = old;
    // A Buffer eight times what is kept (a channel whose publications got smaller) is replaced too.
    if (data === undefined || needed > (data.length * 3) / 4 || (needed * 8 < data.length && data.length > MIN_CAPACITY)) data = Buffer.allocUnsafeSlow(Math.max(MIN_CAPACITY, Math.ceil(needed * 1.5)));
    if (old !== undefined && kept > 0) old.copy(data, 0, from, to);
    state.data = data;
    state.ends = first === 0 ? ends : ends.slice(first);
    if (from !== 0) for (let i = 0; i < state.ends.length; i++) state.ends[i]! -= from;
    state.first = 0;
    return kept;
  }

  #free(channel: string): void {
    this.#channels.delete(channel);
    this.#newEra();
  }

  #newEra(): void {
    this.#eraEpoch = this.#epochOf(++this.#era);
  }

  #epochOf(era: number): string {
    return `${this.#epochPrefix}${era.toString(36)}`;
  }

  #sweep(): void {
    const now = Date.now();
    let freed = false;
    for (const [channel, state] of this.#channels) {
      if (state.expiresAt > now) continue;
      if (this.#subscribed.has(channel)) {
        if (state.ends.length > state.first) this.#expire(state);
      } else {
        this.#channels.delete(channel);
        freed = true;
      }
    }
    if (freed) this.#newEra();
    // Oldest first, and every key lives as long: stop at the first one still alive.
    for (const [key, seen] of this.#idempotency) {
      if (seen.expiresAt > now) break;
      this.#idempotency.delete(key);
    }
  }
}

/** The bytes of entry `i` (it starts where entry i-1 ends). */
function entryBytes(ends: number[], i: number): number {
  return ends[i]! - (i === 0 ? 0 : ends[i - 1]!);
}
