import type { FastifyBaseLogger } from 'fastify';
import { Publication } from '../channels/publication.ts';
import type { SubscriberRegistry } from '../channels/subscriber-registry.ts';
import type { History } from './history.ts';

interface ChannelState {
  epoch: string;
  /** Offset of the last publication handed to local subscribers. */
  offset: number;
  /** Set while missing publications are being read from history: what arrived meanwhile. */
  held: Publication[] | undefined;
  /** Whether a publication arrived since the last position check. */
  active: boolean;
}

/**
 * Keeps each history channel's publications contiguous on this process, between the broker and
 * the local subscribers.
 *
 * Redis Pub/Sub is at-most-once: a subscriber connection that drops and comes back, or hits its
 * output buffer limit, silently loses messages. Every kept publication carries its offset, so a
 * skipped offset is noticed at the next publication; a lost tail (nothing published after the
 * loss) is noticed by a periodic position check of idle channels. Either way the missing
 * publications are read from history ONCE per process and handed to every local subscriber in
 * order, before what arrived meanwhile; duplicates (a publication both refilled and then received
 * late) are dropped by offset. When history no longer has them (trimmed, expired, new epoch), the
 * subscribers are told (`Subscriber.lost`), so the /connect protocol can make its clients recover.
 */
export class GapRepair {
  readonly #history: History;
  readonly #registry: SubscriberRegistry;
  readonly #log: FastifyBaseLogger;
  readonly #channels = new Map<string, ChannelState>();
  #timer: NodeJS.Timeout | undefined;

  constructor(history: History, registry: SubscriberRegistry, log: FastifyBaseLogger, checkIntervalMs: number) {
    this.#history = history;
    this.#registry = registry;
    this.#log = log;
    if (checkIntervalMs > 0) this.#timer = setInterval(() => this.checkPositions(), checkIntervalMs).unref();
  }

  /** The broker's sink: hands publications on in offset order, without gaps or duplicates. */
  readonly dispatch = (publication: Publication): void => {
    const { channel, offset, epoch } = publication;
    if (offset === undefined || epoch === undefined) return this.#registry.dispatch(publication);
    const state = this.#channels.get(channel);
    if (this.#registry.count(channel) === 0) {
      // No one here listens any more: forget the channel (a later subscriber starts afresh).
      if (state !== undefined && state.held === undefined) this.#channels.delete(channel);
      return;
    }
    if (state === undefined) {
      this.#channels.set(channel, { epoch, offset, held: undefined, active: true });
      return this.#registry.dispatch(publication);
    }
    state.active = true;
    if (state.held !== undefined) {
      state.held.push(publication);
      return;
    }
    if (epoch !== state.epoch) {
      // The history was lost and restarted: nothing to refill from. Clients see the new epoch.
      state.epoch = epoch;
      state.offset = offset;
      return this.#registry.dispatch(publication);
    }
    if (offset <= state.offset) return;
    if (offset === state.offset + 1) {
      state.offset = offset;
      return this.#registry.dispatch(publication);
    }
    state.held = [publication];
    void this.#repair(channel, state, offset - 1);
  };

  /** Compares each idle channel's last delivered offset with its history, refilling a lost tail. */
  checkPositions(): void {
    for (const [channel, state] of this.#channels) {
      if (this.#registry.count(channel) === 0) {
        this.#channels.delete(channel);
        continue;
      }
      if (state.held !== undefined) continue;
      if (state.active) {
        state.active = false;
        continue;
      }
      this.#history.read(channel, { limit: 0 }).then(
        ({ position }) => {
          if (state.held !== undefined || this.#channels.get(channel) !== state) return;
          if (position.epoch === state.epoch && position.offset > state.offset) {
            state.held = [];
            void this.#repair(channel, state, position.offset);
          }
        },
        (error: unknown) => this.#log.warn({ channel, err: error }, 'position check failed'),
      );
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#channels.clear();
  }

  /** Reads what came after the last delivered offset, up to `upTo`, and hands it on in order. */
  async #repair(channel: string, state: ChannelState, upTo: number): Promise<void> {
    const since = { offset: state.offset, epoch: state.epoch };
    let refilled = false;
    try {
      const page = await this.#history.read(channel, { since, limit: upTo - since.offset });
      if (page.position.epoch === state.epoch) {
        for (const entry of page.publications) {
          if (entry.offset !== state.offset + 1) break;
          state.offset = entry.offset;
          this.#registry.dispatch(new Publication(channel, entry.json, { offset: entry.offset, epoch: state.epoch }));
        }
      }
      refilled = state.offset >= upTo;
      if (refilled) this.#log.info({ channel, from: since.offset + 1, to: state.offset }, 'refilled publications lost by the broker');
    } catch (error) {
      this.#log.warn({ channel, err: error }, 'could not read history to refill lost publications');
    }
    const held = state.held ?? [];
    state.held = undefined;
    if (!refilled) {
      this.#log.warn({ channel, after: since.offset }, 'publications lost and not in history: telling subscribers');
      this.#registry.lost(channel);
      // Hand on what was held as it is and start afresh with the next publication: sequencing
      // the held ones against a history that cannot fill them would only repeat this.
      this.#channels.delete(channel);
      for (const publication of held) this.#registry.dispatch(publication);
      return;
    }
    for (const publication of held) this.dispatch(publication);
  }
}
