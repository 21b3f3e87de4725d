import { randomUUID } from 'node:crypto';
import { Errors, HeraldError } from '../errors.ts';
import type { Connection } from '../transport/connection.ts';
import type { TaskFollow, TaskOutcomeWatch } from './outcome-watch.ts';
import { isValidTaskId, taskChannel, type TaskOutcome } from './task-channel.ts';
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
  /**
   * A socket already subscribed to the task's channel through its own protocol (the /connect
   * `task` op): like `subscribe`, this process then makes sure the outcome reaches the channel
   * while the socket is open, even if the worker's push was lost.
   */
  follower?: Connection;
  /** Runs the task no sooner than this many ms from now (with Redis the delay survives this process). */
  delayMs?: number;
}

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
  readonly #watch: TaskOutcomeWatch;
  /** The follows made for each socket, released when it closes. */
  readonly #followsOf = new WeakMap<Connection, Set<TaskFollow>>();

  constructor(registry: TaskRegistry, runner: TaskRunner, watch: TaskOutcomeWatch) {
    this.#registry = registry;
    this.#runner = runner;
    this.#watch = watch;
  }

  /** Whether tasks go through BullMQ (`REDIS_URL` set) or run in this process. */
  get runner(): 'in-process' | 'bullmq' {
    return this.#runner.kind;
  }

  /**
   * Queues task `name` with `args` (any JSON) and resolves with its id once it is queued; its
   * events go to channel `task:<id>`. Rejects with HERALD_ERR_UNKNOWN_TASK for a name no handler
   * was registered for, HERALD_ERR_TASK_QUEUE_FULL when too many tasks wait already, and
   * HERALD_ERR_BROKER_UNAVAILABLE when Redis is down.
   */
  async start(name: string, args: unknown = null, options: StartTaskOptions = {}): Promise<{ id: string }> {
    this.#check(name, args);
    if (options.id !== undefined && !isValidTaskId(options.id)) {
      throw new HeraldError(Errors.BAD_REQUEST, 'A task id is 1-100 letters, digits, _ or -, and not all digits');
    }
    const id = options.id ?? randomUUID();
    const socket = options.subscribe;
    if (socket !== undefined) await socket.subscribe(taskChannel(id));
    let follow: TaskFollow | undefined;
    const follower = socket ?? options.follower;
    try {
      if (follower !== undefined) follow = await this.#followFor(follower, id);
      await this.#runner.enqueue(id, name, args, options.delayMs === undefined ? undefined : { delayMs: options.delayMs });
    } catch (error) {
      // A fresh id's channel was subscribed for this start alone: a refused start leaves nothing behind.
      if (socket !== undefined && options.id === undefined) socket.unsubscribe(taskChannel(id));
      if (follow !== undefined) {
        follow.release();
        this.#followsOf.get(follower!)?.delete(follow);
      }
      throw error;
    }
    return { id };
  }

  /**
   * Starts task `name` and resolves with its result, or rejects with HERALD_ERR_TASK_FAILED
   * carrying the failure reason. The outcome is pushed through the task's channel from whichever
   * process ran it; if that push is lost, the stored outcome is used (see TaskOutcomeWatch).
   */
  async run(name: string, args: unknown = null): Promise<unknown> {
    this.#check(name, args);
    const id = randomUUID();
    const follow = await this.#watch.follow(id);
    try {
      await this.#runner.enqueue(id, name, args);
      let outcome: TaskOutcome;
      try {
        outcome = await follow.outcome;
      } catch (error) {
        if (error instanceof HeraldError && error.code === Errors.TASK_NOT_FOUND.code) {
          throw new HeraldError(Errors.TASK_FAILED, `Task ${name} (${id}) disappeared before it finished`);
        }
        throw error;
      }
      if (outcome.type === 'completed') return outcome.result;
      throw new HeraldError(Errors.TASK_FAILED, outcome.reason);
    } finally {
      follow.release();
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

  /** Follows task `id` on behalf of `socket` until its outcome arrives or the socket closes. */
  async #followFor(socket: Connection, id: string): Promise<TaskFollow> {
    const follow = await this.#watch.follow(id);
    let follows = this.#followsOf.get(socket);
    if (follows === undefined) {
      this.#followsOf.set(socket, (follows = new Set()));
      socket.onClose(() => {
        for (const each of follows!) each.release();
        follows!.clear();
      });
    }
    follows.add(follow);
    const forget = (): void => {
      follows!.delete(follow);
    };
    follow.outcome.then(forget, forget);
    return follow;
  }

  #check(name: string, args: unknown): void {
    if (typeof name !== 'string' || this.#registry.get(name) === undefined) {
      throw new HeraldError(Errors.UNKNOWN_TASK, `No task named ${JSON.stringify(name)}`);
    }
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(args);
    } catch (error) {
      // JSON.parse takes any depth but JSON.stringify recurses: a value nested tens of thousands
      // deep overflows the stack, which is the caller's input, not a server failure.
      throw new HeraldError(Errors.BAD_REQUEST, 'Task arguments cannot be encoded as JSON (nested too deeply?)', { cause: error });
    }
    if (args === undefined || encoded === undefined) {
      throw new HeraldError(Errors.BAD_REQUEST, 'Task arguments must be a JSON value');
    }
  }
}
