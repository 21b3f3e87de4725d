import { randomBytes } from 'node:crypto';
import type { HistoryOptions } from '../channels/namespace.ts';
import { IDEMPOTENCY_TTL_SECONDS, POSITION_TTL_SECONDS, type History, type HistoryEntry, type HistoryPage, type HistoryQuery, type StreamPosition } from './history.ts';

/**
 * Data (JSON text length) a channel's memory history holds at most, whatever its `size`: it lives
 * in the server's own heap, and retained large strings inflate RSS well beyond their size (with
 * 256 KB publications, keeping 100 of them made a 100 MB stream past a stalled client grow the
 * server by over 150 MB; test/slow-consumer.test.ts allows 80).
 */
export const MEMORY_HISTORY_MAX_BYTES = 1024 * 1024;

interface ChannelHistory {
  epoch: string;
  offset: number;
  entries: Array<HistoryEntry & { expiresAt: number }>;
  /** Sum of the entries' JSON lengths. */
  bytes: number;
  /** When the offset and epoch are forgotten (see POSITION_TTL_SECONDS). */
  forgetAt: number;
}

/**
 * History in this process's memory (the embedded broker). Epochs are random per process start
 * and per channel incarnation, so a restarted server never reuses a position a client holds.
 */
export class MemoryHistory implements History {
  readonly #channels = new Map<string, ChannelHistory>();
  readonly #idempotency = new Map<string, { result: StreamPosition | undefined; expiresAt: number }>();
  readonly #epochPrefix = randomBytes(4).toString('base64url');
  #generation = 0;
  readonly #sweeper: NodeJS.Timeout;

  constructor() {
    this.#sweeper = setInterval(() => this.#sweep(), 60_000).unref();
  }

  /**
   * Records a publication (called by MemoryBroker.publish). Returns its position, or for a
   * repeated idempotency key the position of the first one with `duplicate: true`.
   */
  append(channel: string, json: string, history: HistoryOptions | undefined, idempotencyKey: string | undefined): { position: StreamPosition | undefined; duplicate: boolean } {
    const now = Date.now();
    let idempotencyId: string | undefined;
    if (idempotencyKey !== undefined) {
      idempotencyId = `${channel}\n${idempotencyKey}`;
      const seen = this.#idempotency.get(idempotencyId);
      if (seen !== undefined && seen.expiresAt > now) return { position: seen.result, duplicate: true };
    }
    let position: StreamPosition | undefined;
    if (history !== undefined) {
      const state = this.#state(channel, now);
      state.offset += 1;
      state.entries.push({ offset: state.offset, json, expiresAt: now + history.ttlSeconds * 1000 });
      state.bytes += json.length;
      let drop = Math.max(0, state.entries.length - history.size);
      let bytes = state.bytes;
      for (let i = 0; i < drop; i++) bytes -= state.entries[i]!.json.length;
      while (bytes > MEMORY_HISTORY_MAX_BYTES && drop < state.entries.length - 1) bytes -= state.entries[drop++]!.json.length;
      if (drop > 0) {
        state.entries.splice(0, drop);
        state.bytes = bytes;
      }
      state.forgetAt = now + Math.max(history.ttlSeconds, POSITION_TTL_SECONDS) * 1000;
      position = { offset: state.offset, epoch: state.epoch };
    }
    if (idempotencyId !== undefined) this.#idempotency.set(idempotencyId, { result: position, expiresAt: now + IDEMPOTENCY_TTL_SECONDS * 1000 });
    return { position, duplicate: false };
  }

  async read(channel: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    const now = Date.now();
    const state = this.#state(channel, now);
    const live = state.entries.filter((entry) => entry.expiresAt > now);
    const position = { offset: state.offset, epoch: state.epoch };
    let selected: typeof live;
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    if (query.since !== undefined) {
      if (query.since.epoch !== state.epoch) selected = [];
      else selected = live.filter((entry) => entry.offset > query.since!.offset).slice(0, limit);
    } else {
      selected = limit === 0 ? [] : live.slice(-limit);
    }
    return { position, publications: selected.map(({ offset, json }) => ({ offset, json })) };
  }

  async remove(channel: string): Promise<void> {
    this.#channels.delete(channel);
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#channels.clear();
    this.#idempotency.clear();
  }

  #state(channel: string, now: number): ChannelHistory {
    let state = this.#channels.get(channel);
    if (state === undefined || state.forgetAt <= now) {
      state = { epoch: `${this.#epochPrefix}${(this.#generation++).toString(36)}`, offset: 0, entries: [], bytes: 0, forgetAt: now + POSITION_TTL_SECONDS * 1000 };
      this.#channels.set(channel, state);
    }
    return state;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [channel, state] of this.#channels) {
      if (state.forgetAt <= now) this.#channels.delete(channel);
      else if (state.entries.length > 0 && state.entries[0]!.expiresAt <= now) {
        state.entries = state.entries.filter((e) => e.expiresAt > now);
        state.bytes = state.entries.reduce((sum, e) => sum + e.json.length, 0);
      }
    }
    for (const [key, seen] of this.#idempotency) if (seen.expiresAt <= now) this.#idempotency.delete(key);
  }
}
