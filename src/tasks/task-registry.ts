import { ConfigError } from '../config.ts';

/** A progress report: a percentage, or any JSON value (`{ done: 3, of: 10 }`). */
export type TaskProgress = number | string | boolean | Record<string, unknown>;

/** What a task handler gets besides its arguments. */
export interface TaskContext {
  /** The task's id; its events go to channel `task:<id>`. */
  readonly id: string;
  readonly name: string;
  /** Aborted when the task times out; a long handler should stop when it fires. */
  readonly signal: AbortSignal;
  /** Publishes `{"type":"progress"}` on the task's channel and records it for `GET /api/tasks/:id`. */
  progress(value: TaskProgress): Promise<void>;
}

/** Runs one task: its return value (JSON) is the result; a throw fails the task with its message. */
export type TaskHandler<Args = any, Result = unknown> = (args: Args, context: TaskContext) => Result | Promise<Result>;

/**
 * Which `/connect` clients may start a task with the `task` op: `false` (the default: only server
 * code and `POST /api/tasks`, which needs the API key), `'authenticated'` (connections whose token
 * named a user), or `true` (any connection, anonymous ones included).
 */
export type TaskClientAccess = boolean | 'authenticated';

export interface TaskOptions {
  /** A run longer than this fails with "timed out". Default 300000 (5 minutes). */
  timeoutMs?: number;
  /** Whether `/connect` clients may start it (see TaskClientAccess). Default false. */
  clients?: TaskClientAccess;
}

export interface TaskDefinition {
  readonly name: string;
  readonly handler: TaskHandler;
  readonly timeoutMs: number;
  readonly clients: TaskClientAccess;
}

export const DEFAULT_TASK_TIMEOUT_MS = 300_000;
const TASK_NAME = /^[A-Za-z0-9_\-.]{1,100}$/;

/** The task handlers this process knows, by name. Every process of a cluster registers the same. */
export class TaskRegistry {
  readonly #byName = new Map<string, TaskDefinition>();

  define(name: string, handler: TaskHandler, options: TaskOptions = {}): void {
    if (!TASK_NAME.test(name)) throw new ConfigError(`task name must be 1-100 letters, digits or _ - ., got ${JSON.stringify(name)}`);
    if (this.#byName.has(name)) throw new ConfigError(`task ${JSON.stringify(name)} is already defined`);
    if (typeof handler !== 'function') throw new ConfigError(`task ${JSON.stringify(name)} needs a handler function`);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) {
      throw new ConfigError(`task ${JSON.stringify(name)}: timeoutMs must be a positive whole number, got ${JSON.stringify(timeoutMs)}`);
    }
    const clients = options.clients ?? false;
    if (clients !== true && clients !== false && clients !== 'authenticated') {
      throw new ConfigError(`task ${JSON.stringify(name)}: clients must be true, false or "authenticated", got ${JSON.stringify(clients)}`);
    }
    this.#byName.set(name, { name, handler, timeoutMs, clients });
  }

  get(name: string): TaskDefinition | undefined {
    return this.#byName.get(name);
  }

  get size(): number {
    return this.#byName.size;
  }
}
