import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { InFlight } from '../in-flight.ts';
import type { TaskHandler } from '../tasks/task-registry.ts';
import { BUILT_IN_TASK_ID_PREFIX, type StartTask, type Webhooks } from '../webhooks/webhooks.ts';
import type { OnlineStatus, SubjectStatus } from './online-status.ts';
import { statusChannel } from './status-channel.ts';

/** The built-in task that sends `user.offline` once the debounce has passed without a reconnect. */
export const OFFLINE_CHECK_TASK = 'herald.offline-check';

export interface UserActivityOptions {
  status: OnlineStatus;
  /** Publishes a status change on a reserved channel (Publisher.publish, reserved). */
  publish: (channel: string, data: unknown) => Promise<unknown>;
  webhooks: Webhooks;
  startTask: StartTask;
  /** HERALD_WEBHOOK_OFFLINE_DELAY_MS: how long a user must stay offline before `user.offline`. */
  offlineDelayMs: number;
  /** Writes shutdown waits for before it closes Redis. */
  writes: InFlight;
  log: FastifyBaseLogger;
}

/**
 * Users coming and going: each signed-in connection is a member of its user's online status; the
 * one process that sees a user come online or go offline (OnlineStatus decides atomically) pushes
 * `status` to the user's watchers and emits the webhooks. `user.offline` is debounced through a
 * delayed built-in task, so it survives the process that saw the user leave.
 */
export class UserActivity {
  readonly #options: UserActivityOptions;

  constructor(options: UserActivityOptions) {
    this.#options = options;
    options.status.onTransition((user, transition) => {
      if (transition.online) this.#cameOnline(user, transition.notify);
      else this.#wentOffline(user, transition.lastSeen);
    });
  }

  /** A connection of `user` opened (or signed in). */
  opened(user: string, connection: string): void {
    this.#options.writes.track(
      this.#options.status.join(user, connection).then(
        ({ online, notify }) => {
          if (online) this.#cameOnline(user, notify);
        },
        // The member is kept and refreshed: the refresh writes it again and reports the change.
        (error: unknown) => this.#options.log.warn({ user, err: error }, 'could not record a user online'),
      ),
    );
  }

  /** A connection of `user` closed. */
  closed(user: string, connection: string): void {
    this.#options.writes.track(
      this.#options.status.leave(user, connection).then(
        (lastSeen) => {
          if (lastSeen !== undefined) this.#wentOffline(user, lastSeen);
        },
        // Not refreshed any more: the member lapses within the presence TTL, and the sweep reports it.
        (error: unknown) => this.#options.log.warn({ user, err: error }, 'could not record a user offline'),
      ),
    );
  }

  lookup(users: readonly string[]): Promise<Map<string, SubjectStatus>> {
    return this.#options.status.lookup(users);
  }

  /** The handler of the built-in offline check: `user.offline` if the user stayed away. */
  readonly offlineCheck: TaskHandler<{ user: string; lastSeen: number }> = async ({ user, lastSeen }) => {
    const confirmed = await this.#options.status.confirmOffline(user, lastSeen);
    if (confirmed) await this.#options.webhooks.emit('user.offline', { user, lastSeen });
    return { sent: confirmed };
  };

  #cameOnline(user: string, notify: boolean): void {
    this.#push(user, { user, online: true, lastSeen: null });
    if (notify) this.#options.webhooks.emitLogged('user.online', { user });
  }

  #wentOffline(user: string, lastSeen: number): void {
    this.#push(user, { user, online: false, lastSeen });
    const { webhooks } = this.#options;
    // The notified state must follow the user even when only user.online is wanted: a user who
    // never went "offline" for the webhooks gets no second user.online.
    if (!webhooks.wants('user.offline') && !webhooks.wants('user.online')) return;
    const id = `${BUILT_IN_TASK_ID_PREFIX}offline-${createHash('sha256').update(user).digest('hex').slice(0, 32)}-${lastSeen}`;
    this.#options.writes.track(
      this.#options.startTask(OFFLINE_CHECK_TASK, { user, lastSeen }, { id, delayMs: this.#options.offlineDelayMs }).catch((error: unknown) =>
        this.#options.log.warn({ user, err: error }, 'could not queue the offline check: no user.offline for this departure'),
      ),
    );
  }

  #push(user: string, status: SubjectStatus & { user: string }): void {
    this.#options.writes.track(
      this.#options.publish(statusChannel(user), status).catch((error: unknown) => this.#options.log.warn({ user, err: error }, 'could not push a status change')),
    );
  }
}
