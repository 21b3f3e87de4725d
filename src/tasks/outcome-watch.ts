import type { FastifyBaseLogger } from 'fastify';
import type { Publication } from '../channels/publication.ts';
import type { Subscriber, SubscriberRegistry } from '../channels/subscriber-registry.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { History } from '../history/history.ts';
import { isTaskOutcome, taskChannel, type TaskOutcome } from './task-channel.ts';
import type { TaskStatus } from './task-runner.ts';

export interface TaskOutcomeWatchOptions {
  subscribers: SubscriberRegistry;
  history: History;
  /** The task's stored status (the runner's). */
  status(id: string): Promise<TaskStatus | undefined>;
  /** Publishes an outcome on the task's channel with the outcome's idempotency key. */
  publishOutcome(outcome: TaskOutcome): Promise<void>;
  /** How long an outcome may be awaited before the stored status is checked, and between checks. */
  checkMs: number;
  log: FastifyBaseLogger;
}

/** One party on this process waiting for a task's outcome. */
export interface TaskFollow {
  /** Resolves with the outcome; rejects with TASK_NOT_FOUND if the task vanished, SHUTTING_DOWN on close. */
  readonly outcome: Promise<TaskOutcome>;
  /** Stops following (the outcome promise is then left pending). Idempotent. */
  release(): void;
}

/**
 * Makes a task's outcome reach the followers on this process even when its push was lost.
 *
 * The worker publishes the outcome after BullMQ has recorded it; a worker that dies (or loses
 * Redis) between the two never publishes it, and nothing else would. So every process that
 * follows a task for someone (a socket it subscribed with `tasks.start`, a /connect `task` op,
 * `tasks.run`) listens on the task's channel itself, and while no outcome has arrived it checks the
 * stored status every `checkMs`. A task that is over but whose channel holds no outcome gets the
 * stored one published, with the same idempotency key as the worker's, so however many processes
 * reconcile at once, and even if the worker's publication lands too, the channel carries it once.
 */
export class TaskOutcomeWatch {
  readonly #options: TaskOutcomeWatchOptions;
  readonly #watched = new Map<string, WatchedTask>();

  constructor(options: TaskOutcomeWatchOptions) {
    this.#options = options;
  }

  /** Starts following task `id`; resolves once this process listens on its channel. */
  async follow(id: string): Promise<TaskFollow> {
    let task = this.#watched.get(id);
    if (task === undefined) {
      task = new WatchedTask(id);
      const watched = task;
      // The outcome's publication, however it got there (the worker's push or a reconciliation).
      task.onOutcome = (outcome) => this.#settle(watched, outcome);
      this.#watched.set(id, task);
      try {
        await this.#options.subscribers.add(taskChannel(id), task);
      } catch (error) {
        this.#end(task);
        throw error;
      }
      this.#schedule(task);
    }
    task.followers++;
    const watched = task;
    let released = false;
    return {
      outcome: task.outcome,
      release: () => {
        if (released) return;
        released = true;
        if (--watched.followers === 0 && !watched.settled) this.#end(watched);
      },
    };
  }

  /** How many tasks this process is waiting on (for tests and stats). */
  get size(): number {
    return this.#watched.size;
  }

  #schedule(task: WatchedTask): void {
    if (task.settled || this.#watched.get(task.id) !== task) return;
    task.timer = setTimeout(() => void this.#check(task), this.#options.checkMs);
    task.timer.unref();
  }

  async #check(task: WatchedTask): Promise<void> {
    const { id } = task;
    let status: TaskStatus | undefined;
    try {
      status = await this.#options.status(id);
    } catch (error) {
      // A closed runner will never answer: give up rather than poll forever.
      if (error instanceof HeraldError && error.code === Errors.SHUTTING_DOWN.code) return this.#settle(task, error);
      return this.#schedule(task); // Redis unreachable: try again at the next check
    }
    if (task.settled) return;
    if (status === undefined) return this.#settle(task, new HeraldError(Errors.TASK_NOT_FOUND, `Task ${id} no longer exists`));
    if (status.state === 'queued' || status.state === 'running') return this.#schedule(task);
    const stored: TaskOutcome = status.state === 'completed' ? { type: 'completed', id, result: status.result ?? null } : { type: 'failed', id, reason: status.reason ?? 'failed' };
    try {
      // Already published (this process missed the push, or it is on its way): that one counts.
      const kept = await this.#options.history.read(taskChannel(id));
      const published = kept.publications.map((entry) => JSON.parse(entry.json) as unknown).find(isTaskOutcome);
      if (published !== undefined) return this.#settle(task, published);
      this.#options.log.warn({ task: id }, 'task outcome was not pushed: publishing the stored outcome');
      await this.#options.publishOutcome(stored);
    } catch (error) {
      this.#options.log.warn({ task: id, err: error }, 'could not reconcile a task outcome; retrying at the next check');
    }
    // The publication settles the task when it comes back through the channel; if it does not, check again.
    this.#schedule(task);
  }

  #settle(task: WatchedTask, outcome: TaskOutcome | HeraldError): void {
    if (task.settled) return;
    task.settled = true;
    if (outcome instanceof HeraldError) task.reject(outcome);
    else task.resolve(outcome);
    this.#end(task);
  }

  #end(task: WatchedTask): void {
    clearTimeout(task.timer);
    if (this.#watched.get(task.id) !== task) return;
    this.#watched.delete(task.id);
    this.#options.subscribers.remove(taskChannel(task.id), task);
  }
}

/** A task this process waits on: its channel subscriber, its followers and its next check. */
class WatchedTask implements Subscriber {
  readonly id: string;
  readonly outcome: Promise<TaskOutcome>;
  resolve!: (outcome: TaskOutcome) => void;
  reject!: (error: HeraldError) => void;
  followers = 0;
  settled = false;
  timer: NodeJS.Timeout | undefined;
  onOutcome: ((outcome: TaskOutcome) => void) | undefined;

  constructor(id: string) {
    this.id = id;
    this.outcome = new Promise<TaskOutcome>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Followers that only want the push delivered (sockets) never await it.
    this.outcome.catch(() => {});
  }

  deliver(publication: Publication): void {
    const event = publication.data;
    if (isTaskOutcome(event)) this.onOutcome?.(event);
  }
}
