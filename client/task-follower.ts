import { ClientErrorCode, HeraldClientError } from './errors.ts';
import type { PublicationHandler, Subscription } from './subscription.ts';
import { isOutcome, type TaskEvent, type TaskEventHandler } from './task-events.ts';

/** A task as the server stores it (the `taskStatus` op; `GET /api/tasks/{id}`). */
export interface TaskStatus {
  id: string;
  name: string;
  state: 'queued' | 'running' | 'completed' | 'failed';
  /** How many times it started running (2 when a worker died running it). */
  runs: number;
  /** The latest progress report; 0 until the first. */
  progress: unknown;
  result?: unknown;
  reason?: string;
}

export interface FollowTaskOptions {
  /**
   * While the outcome has not arrived, how often the task's stored status is checked, in ms, so a
   * lost push is made up for. Default 10000; 0 checks only after a resubscription that could not
   * recover what it missed.
   */
  statusCheckMs?: number;
}

const DEFAULT_STATUS_CHECK_MS = 10_000;

/**
 * Follows one task for `startTask` / `watchTask`: hands each event to `onEvent` once, in order, then
 * the outcome once, and ends the subscription after it. The outcome normally arrives as a push on
 * the task's channel; when that push is lost (its worker died after finishing, history expired, a
 * reconnect could not recover) the task's stored status supplies it: the status is read after a
 * resubscription that did not recover, and every `statusCheckMs` while the outcome is missing.
 */
export class TaskFollower {
  readonly id: string;
  readonly #onEvent: TaskEventHandler;
  readonly #readStatus: (id: string) => Promise<TaskStatus>;
  readonly #checkMs: number;
  #done = false;
  #subscription: Subscription | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, onEvent: TaskEventHandler, readStatus: (id: string) => Promise<TaskStatus>, options: FollowTaskOptions = {}) {
    this.id = id;
    this.#onEvent = onEvent;
    this.#readStatus = readStatus;
    this.#checkMs = options.statusCheckMs ?? DEFAULT_STATUS_CHECK_MS;
  }

  /** Whether the outcome has been handed over. */
  get done(): boolean {
    return this.#done;
  }

  /** The task channel's handler: pushes, recovered publications and history entries all come through here. */
  readonly handler: PublicationHandler = (data) => {
    if (this.#done) return;
    this.#onEvent(data as TaskEvent);
    if (isOutcome(data)) this.#finish();
  };

  /** Hands over the outcome a status holds, if the task is over; returns whether the task is done. */
  settle(status: TaskStatus): boolean {
    if (status.state === 'completed') this.handler({ type: 'completed', id: this.id, result: status.result ?? null }, { channel: `task:${this.id}` });
    else if (status.state === 'failed') this.handler({ type: 'failed', id: this.id, reason: status.reason ?? 'failed' }, { channel: `task:${this.id}` });
    return this.#done;
  }

  /**
   * Watches `subscription` (the task's channel): `checkAfterUnrecovered` says whether its first
   * confirmation, too, should be checked (it asked to recover from a position).
   */
  attach(subscription: Subscription, checkAfterUnrecovered: boolean): void {
    this.#subscription = subscription;
    if (this.#done) {
      subscription.unsubscribe();
      return;
    }
    subscription.on('subscribed', ({ recovered, resubscribed }) => {
      if (!recovered && (resubscribed || checkAfterUnrecovered)) void this.#check();
      else this.#schedule();
    });
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#done || this.#checkMs <= 0) return;
    this.#timer = setTimeout(() => void this.#check(), this.#checkMs);
    // In Node, a pending check must not keep the process alive on its own.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  async #check(): Promise<void> {
    clearTimeout(this.#timer);
    if (this.#done || this.#subscription?.state === 'unsubscribed') return;
    try {
      if (this.settle(await this.#readStatus(this.id))) return;
    } catch (error) {
      const code = error instanceof HeraldClientError ? error.code : undefined;
      // Closed for good: the next connect() resubscribes, and its confirmation checks again.
      if (code === ClientErrorCode.CLOSED) return;
      // The task's data is gone (e.g. Redis lost it): no outcome will ever come.
      if (code === 'HERALD_ERR_TASK_NOT_FOUND') {
        this.handler({ type: 'failed', id: this.id, reason: (error as Error).message }, { channel: `task:${this.id}` });
        return;
      }
      // Anything else (Redis unreachable, no connection, no reply) is transient: check again later.
    }
    this.#schedule();
  }

  #finish(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#subscription?.unsubscribe();
  }
}
