import type { FastifyBaseLogger } from 'fastify';
import type { InFlight } from '../in-flight.ts';
import type { OnlineStatus } from '../users/online-status.ts';
import type { Webhooks } from './webhooks.ts';

/**
 * `channel.occupied` and `channel.vacated`, once for the cluster: each process is a member of the
 * channels it has local subscribers of, and OnlineStatus tells exactly one process when a channel
 * gets its first member anywhere or loses its last (a dead process's memberships lapse within the
 * presence TTL, and the process whose sweep finds that reports it). Server-internal `#` channels
 * (inboxes, status) are left out. Other protocols on the server follow the same transitions
 * through `onChange` (the Pusher apps' channel_occupied and channel_vacated).
 */
export class ChannelEvents {
  readonly #occupancy: OnlineStatus;
  readonly #process: string;
  readonly #webhooks: Webhooks;
  readonly #writes: InFlight;
  readonly #log: FastifyBaseLogger;
  readonly #listeners: Array<(channel: string, occupied: boolean) => void> = [];

  constructor(occupancy: OnlineStatus, process: string, webhooks: Webhooks, writes: InFlight, log: FastifyBaseLogger) {
    this.#occupancy = occupancy;
    this.#process = process;
    this.#webhooks = webhooks;
    this.#writes = writes;
    this.#log = log;
    occupancy.onTransition((channel, transition) => this.#changed(channel, transition.online));
  }

  /** Calls `listener` with each transition this process is the one to report, from now on. */
  onChange(listener: (channel: string, occupied: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** The first local subscriber of `channel` arrived. */
  readonly acquired = (channel: string): void => {
    if (channel.startsWith('#')) return;
    this.#writes.track(
      this.#occupancy.join(channel, this.#process).then(
        ({ online }) => {
          if (online) this.#changed(channel, true);
        },
        (error: unknown) => this.#log.warn({ channel, err: error }, 'could not record a channel occupied'),
      ),
    );
  };

  /** The last local subscriber of `channel` left. */
  readonly released = (channel: string): void => {
    if (channel.startsWith('#')) return;
    this.#writes.track(
      this.#occupancy.leave(channel, this.#process).then(
        (vacatedAt) => {
          if (vacatedAt !== undefined) this.#changed(channel, false);
        },
        (error: unknown) => this.#log.warn({ channel, err: error }, 'could not record a channel vacated'),
      ),
    );
  };

  #changed(channel: string, occupied: boolean): void {
    this.#webhooks.emitLogged(occupied ? 'channel.occupied' : 'channel.vacated', { channel });
    for (const listener of this.#listeners) {
      try {
        listener(channel, occupied);
      } catch (error) {
        this.#log.warn({ channel, err: error }, 'a channel occupancy listener failed');
      }
    }
  }
}
