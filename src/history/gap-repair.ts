import type { FastifyBaseLogger } from 'fastify';
import { Publication } from '../channels/publication.ts';
import type { SubscriberRegistry } from '../channels/subscriber-registry.ts';
import type { History, StreamPosition } from './history.ts';

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
    // Once no one here listens, the broker stops sending the channel to this process: the position
    // kept so far says nothing about what the next subscriber will receive, so it must not be
    // compared with it (it would "refill" what that subscriber never asked for, or report as lost
    // what history has trimmed since). A repair in flight finds its state gone and stands down.
    registry.onRelease((channel) => this.#channels.delete(channel));
    if (checkIntervalMs > 0) this.#timer = setInterval(() => this.checkPositions(), checkIntervalMs).unref();
  }

  /** Channels whose position this process keeps (those with local subscribers that received a kept publication). */
  get channelCount(): number {
    return this.#channels.size;
  }

  /** The broker's sink: hands publications on in offset order, without gaps or duplicates. */
  readonly dispatch = (publication: Publication): void => {
    const { channel, offset, epoch } = publication;
    if (offset === undefined || epoch === undefined) return this.#registry.dispatch(publication);
    // No one here listens (any more): the broker has not yet applied the unsubscribe.
    if (this.#registry.count(channel) === 0) return;
    const state = this.#channels.get(channel);
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
      // The history was lost and restarted: what came before in the old epoch cannot be refilled,
      // but what came before this in the new one can. Clients see the new epoch.
      if (offset === 1) {
        state.epoch = epoch;
        state.offset = offset;
        return this.#registry.dispatch(publication);
      }
    } else {
      if (offset <= state.offset) return;
      if (offset === state.offset + 1) {
        state.offset = offset;
        return this.#registry.dispatch(publication);
      }
    }
    state.held = [publication];
    void this.#repair(channel, state, { offset: offset - 1, epoch });
  };

  /**
   * Compares each idle channel's last delivered position with its history, refilling a lost tail.
   * A new epoch counts too: the history was lost and restarted while the channel was quiet here,
   * and what was published in the new one since is refilled (its subscribers see the new epoch).
   */
  checkPositions(): void {
    for (const [channel, state] of this.#channels) {
      if (state.held !== undefined) continue;
      if (state.active) {
        state.active = false;
        continue;
      }
      this.#history.read(channel, { limit: 0 }).then(
        ({ position }) => {
          if (state.held !== undefined || this.#channels.get(channel) !== state) return;
          if (position.epoch === state.epoch ? position.offset > state.offset : position.offset > 0) {
            state.held = [];
            void this.#repair(channel, state, position);
          } else if (position.epoch !== state.epoch) {
            // A new, still empty history: nothing to refill; its first publication follows on.
            state.epoch = position.epoch;
            state.offset = 0;
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

  /**
   * Reads what came after the last delivered position, up to `upTo`, and hands it on in order. When
   * `upTo` is in another epoch, that is everything of the new epoch up to it.
   */
  async #repair(channel: string, state: ChannelState, upTo: StreamPosition): Promise<void> {
    const since = upTo.epoch === state.epoch ? { offset: state.offset, epoch: state.epoch } : { offset: 0, epoch: upTo.epoch };
    let refilled = false;
    try {
      const page = await this.#history.read(channel, { since, limit: upTo.offset - since.offset });
      // Released meanwhile: whoever subscribes now starts afresh, and the held ones had no one left.
      if (this.#channels.get(channel) !== state) return;
      if (page.position.epoch === since.epoch) {
        let offset = since.offset;
        for (const entry of page.publications) {
          if (entry.offset !== offset + 1) break;
          offset = state.offset = entry.offset;
          state.epoch = since.epoch;
          this.#registry.dispatch(new Publication(channel, entry.json, { from: entry.from, offset, epoch: since.epoch }));
        }
      }
      refilled = state.epoch === upTo.epoch && state.offset >= upTo.offset;
      if (refilled) this.#log.info({ channel, from: since.offset + 1, to: state.offset }, 'refilled publications lost by the broker');
    } catch (error) {
      if (this.#channels.get(channel) !== state) return;
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
