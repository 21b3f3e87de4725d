import { randomUUID } from 'node:crypto';
import type { Publication } from '../channels/publication.ts';
import type { Subscriber, SubscriberRegistry } from '../channels/subscriber-registry.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Connection } from '../transport/connection.ts';
import { isValidTaskId, taskChannel, type TaskEvent } from './task-channel.ts';
import type { TaskRegistry } from './task-registry.ts';
import type { TaskRunner, TaskStatus } from './task-runner.ts';

export interface StartTaskOptions {
  /**
   * Subscribe this socket to the task's channel (`task:<id>`) before the task is queued, so it
   * is pushed every progress event and the outcome whichever process runs the task.
   */
  subscribe?: Connection;
  /**
   * The task's id, when the caller needs it before the start (e.g. to subscribe through its own
   * protocol first). Letters, digits, `_` and `-`, not all digits. Starting an id twice runs it once.
   * Default: a random UUID.
   */
  id?: string;
}

/** How often `run()` checks the status in case an outcome event was lost (e.g. a worker died twice). */
const OUTCOME_SAFETY_CHECK_MS = 30_000;

/**
 * Starting tasks and reading their status: `herald.tasks`.
 *
 * @example
 * herald.task('resize', async ({ url }, ctx) => {
 *   await ctx.progress(50);
 *   return { thumbnail: `${url}?w=100` };
 * }, { timeoutMs: 60_000 });
 *
 * herald.socket('/resize', (socket) => {
 *   socket.onMessage(async (url) => {
 *     // Progress and the outcome arrive on the socket as {"type": "progress" | "completed" | "failed", ...}.
 *     await herald.tasks.start('resize', { url }, { subscribe: socket });
 *   });
 * });
 *
 * const thumbnail = await herald.tasks.run('resize', { url: 'https://example.com/a.png' });
 */
export class Tasks {
  readonly #registry: TaskRegistry;
  readonly #runner: TaskRunner;
  readonly #subscribers: SubscriberRegistry;

  constructor(registry: TaskRegistry, runner: TaskRunner, subscribers: SubscriberRegistry) {
    this.#registry = registry;
    this.#runner = runner;
    this.#subscribers = subscribers;
  }

  /** Whether tasks go through BullMQ (`REDIS_URL` set) or run in this process. */
  get runner(): 'in-process' | 'bullmq' {
    return this.#runner.kind;
  }

  /**
   * Queues task `name` with `args` (any JSON) and resolves with its id once it is queued; its
   * events go to channel `task:<id>`. Rejects with HERALD_ERR_UNKNOWN_TASK for a name no handler
   * was registered for, and HERALD_ERR_BROKER_UNAVAILABLE when Redis is down.
   */
  async start(name: string, args: unknown = null, options: StartTaskOptions = {}): Promise<{ id: string }> {
    this.#check(name, args);
    if (options.id !== undefined && !isValidTaskId(options.id)) {
      throw new HeraldError(Errors.BAD_REQUEST, 'A task id is 1-100 letters, digits, _ or -, and not all digits');
    }
    const id = options.id ?? randomUUID();
    if (options.subscribe !== undefined) await options.subscribe.subscribe(taskChannel(id));
    await this.#runner.enqueue(id, name, args);
    return { id };
  }

  /**
   * Starts task `name` and resolves with its result, or rejects with HERALD_ERR_TASK_FAILED
   * carrying the failure reason. The outcome is pushed through the task's channel from whichever
   * process ran it; nothing is polled (a status check every 30 s only guards against a lost push).
   */
  async run(name: string, args: unknown = null): Promise<unknown> {
    this.#check(name, args);
    const id = randomUUID();
    const channel = taskChannel(id);
    const outcome = new OutcomeSubscriber();
    await this.#subscribers.add(channel, outcome);
    try {
      await this.#runner.enqueue(id, name, args);
      for (;;) {
        const event = await outcome.wait(OUTCOME_SAFETY_CHECK_MS);
        if (event !== undefined) return settle(event);
        const status = await this.#runner.status(id);
        if (status === undefined) throw new HeraldError(Errors.TASK_FAILED, `Task ${name} (${id}) disappeared before it finished`);
        if (status.state === 'completed') return status.result;
        if (status.state === 'failed') throw new HeraldError(Errors.TASK_FAILED, status.reason);
      }
    } finally {
      this.#subscribers.remove(channel, outcome);
    }
  }

  /**
   * Whether `actor` (a /connect connection) may start task `name`: undefined when allowed, else the
   * error to answer. A task clients may not start gets the same HERALD_ERR_UNKNOWN_TASK as a name
   * nobody registered, so clients cannot probe for server-only tasks; an anonymous connection
   * asking for an `'authenticated'` task gets HERALD_ERR_IDENTITY_REQUIRED.
   */
  authorizeClientStart(actor: { readonly user: string | undefined }, name: string): HeraldError | undefined {
    const access = this.#registry.get(name)?.clients ?? false;
    if (access === false) return new HeraldError(Errors.UNKNOWN_TASK, `No task named ${JSON.stringify(name)} that clients may start`);
    if (access === 'authenticated' && actor.user === undefined) return new HeraldError(Errors.IDENTITY_REQUIRED, `Task ${JSON.stringify(name)} needs an authenticated user`);
    return undefined;
  }

  /** The task's status, or undefined for an unknown id. */
  async get(id: string): Promise<TaskStatus | undefined> {
    if (!isValidTaskId(id)) return undefined;
    return this.#runner.status(id);
  }

  #check(name: string, args: unknown): void {
    if (typeof name !== 'string' || this.#registry.get(name) === undefined) {
      throw new HeraldError(Errors.UNKNOWN_TASK, `No task named ${JSON.stringify(name)}`);
    }
    if (args === undefined || JSON.stringify(args) === undefined) {
      throw new HeraldError(Errors.BAD_REQUEST, 'Task arguments must be a JSON value');
    }
  }
}

function settle(event: Extract<TaskEvent, { type: 'completed' | 'failed' }>): unknown {
  if (event.type === 'completed') return event.result;
  throw new HeraldError(Errors.TASK_FAILED, event.reason);
}

/** Listens on a task's channel in this process for its outcome. */
class OutcomeSubscriber implements Subscriber {
  #outcome: Extract<TaskEvent, { type: 'completed' | 'failed' }> | undefined;
  #wake: (() => void) | undefined;

  deliver(publication: Publication): void {
    const event = publication.data as TaskEvent;
    if (event?.type !== 'completed' && event?.type !== 'failed') return;
    this.#outcome ??= event;
    this.#wake?.();
  }

  /** The outcome, or undefined if none arrived within `ms`. */
  async wait(ms: number): Promise<Extract<TaskEvent, { type: 'completed' | 'failed' }> | undefined> {
    if (this.#outcome !== undefined) return this.#outcome;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.#wake = undefined;
    return this.#outcome;
  }
}
