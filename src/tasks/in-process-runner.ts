import type { FastifyBaseLogger } from 'fastify';
import { Errors, HeraldError } from '../errors.ts';
import { failureReason, runTask } from './run-task.ts';
import type { TaskRegistry } from './task-registry.ts';
import type { TaskEventSink, TaskRunner, TaskStatus } from './task-runner.ts';

export interface InProcessTaskRunnerOptions {
  /** Tasks that may wait to run; one more is refused with TASK_QUEUE_FULL. Default 1000. */
  maxQueued?: number;
  /** How long a finished task's status stays readable, in ms. Default one hour. */
  retainFinishedMs?: number;
  /** At most this many finished statuses are kept (the oldest go first). Default 10000, as with BullMQ. */
  maxFinished?: number;
}

/**
 * Tasks without Redis: a FIFO queue and at most `concurrency` handlers at a time, in this process.
 * Same events and statuses as the BullMQ runner, minus durability: a task dies with the process.
 * Memory is bounded: at most `maxQueued` tasks wait, and finished statuses are dropped after
 * `retainFinishedMs` or beyond `maxFinished`.
 */
export class InProcessTaskRunner implements TaskRunner {
  readonly kind = 'in-process' as const;
  readonly #registry: TaskRegistry;
  readonly #publish: TaskEventSink;
  readonly #log: FastifyBaseLogger;
  readonly #maxQueued: number;
  readonly #retainFinishedMs: number;
  readonly #maxFinished: number;
  readonly #statuses = new Map<string, TaskStatus>();
  readonly #waiting: Array<{ id: string; args: unknown }> = [];
  readonly #running = new Set<Promise<void>>();
  /** Timers of delayed tasks, cleared at close. */
  readonly #delayed = new Set<NodeJS.Timeout>();
  /** Finished task ids with the time each finished, oldest first (Map keeps insertion order). */
  readonly #finished = new Map<string, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #concurrency = 0;
  #closed = false;

  constructor(registry: TaskRegistry, publish: TaskEventSink, log: FastifyBaseLogger, options: InProcessTaskRunnerOptions = {}) {
    this.#registry = registry;
    this.#publish = publish;
    this.#log = log;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#retainFinishedMs = options.retainFinishedMs ?? 3_600_000;
    this.#maxFinished = options.maxFinished ?? 10_000;
  }

  async start(): Promise<void> {}

  /** Tasks run here that failed, for /metrics. */
  failures = 0;

  async depth(): Promise<{ waiting: number; running: number }> {
    return { waiting: this.#waiting.length, running: this.#running.size };
  }

  async enqueue(id: string, name: string, args: unknown, options: { delayMs?: number } = {}): Promise<void> {
    if (this.#closed) throw new HeraldError(Errors.SHUTTING_DOWN, 'The server is shutting down; the task was not started');
    if (this.#statuses.has(id)) return;
    if (this.#waiting.length >= this.#maxQueued) {
      throw new HeraldError(Errors.TASK_QUEUE_FULL, `${this.#maxQueued} tasks are already waiting to run; the task was not started`);
    }
    this.#statuses.set(id, { id, name, state: 'queued', runs: 0, progress: 0 });
    const delayMs = options.delayMs ?? 0;
    if (delayMs > 0) {
      // A delayed task waits outside the queue (it does not count against maxQueued until due), and
      // dies with the process like every in-process task.
      const timer = setTimeout(() => {
        this.#delayed.delete(timer);
        if (this.#closed) return;
        this.#waiting.push({ id, args });
        this.#pump();
      }, delayMs);
      timer.unref();
      this.#delayed.add(timer);
      return;
    }
    this.#waiting.push({ id, args });
    // Never run within the caller's turn: like a queue, start() resolves before the task runs.
    setImmediate(() => this.#pump());
  }

  async status(id: string): Promise<TaskStatus | undefined> {
    if (this.#closed) throw new HeraldError(Errors.SHUTTING_DOWN, 'The task runner is closed');
    const status = this.#statuses.get(id);
    return status === undefined ? undefined : { ...status };
  }

  async startWorkers(concurrency: number): Promise<void> {
    this.#concurrency = Math.max(1, concurrency);
    this.#pump();
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#concurrency = 0;
    clearTimeout(this.#sweepTimer);
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** How many statuses this runner holds (queued, running and retained finished ones). */
  get retained(): number {
    return this.#statuses.size;
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#waiting.length > 0) {
      const { id, args } = this.#waiting.shift()!;
      const run = this.#run(id, args).finally(() => {
        this.#running.delete(run);
        this.#pump();
      });
      this.#running.add(run);
    }
  }

  async #run(id: string, args: unknown): Promise<void> {
    const status = this.#statuses.get(id)!;
    status.state = 'running';
    status.runs = 1;
    const definition = this.#registry.get(status.name);
    try {
      if (definition === undefined) throw new Error(`No handler for task ${status.name} in this process`);
      status.result = await runTask(definition, id, args, async (progress) => {
        status.progress = progress;
        await this.#publish({ type: 'progress', id, progress });
      });
      status.state = 'completed';
    } catch (error) {
      status.state = 'failed';
      status.reason = failureReason(error);
      this.failures++;
    }
    this.#retire(id);
    const event = status.state === 'completed' ? { type: 'completed' as const, id, result: status.result } : { type: 'failed' as const, id, reason: status.reason! };
    // The embedded broker cannot be unreachable, and the status is recorded before the push: a
    // follower that somehow missed it reads the same outcome from the status (TaskOutcomeWatch).
    await this.#publish(event).catch((error: unknown) => this.#log.warn({ task: id, err: error }, 'could not publish task outcome'));
  }

  /** Keeps a finished status for its retention, then frees it; beyond `maxFinished` the oldest go at once. */
  #retire(id: string): void {
    this.#finished.set(id, Date.now());
    for (const oldest of this.#finished.keys()) {
      if (this.#finished.size <= this.#maxFinished) break;
      this.#forget(oldest);
    }
    this.#scheduleSweep();
  }

  #scheduleSweep(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    const oldest = this.#finished.values().next();
    if (oldest.done === true) return;
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      const cutoff = Date.now() - this.#retainFinishedMs;
      for (const [id, finishedAt] of this.#finished) {
        if (finishedAt > cutoff) break;
        this.#forget(id);
      }
      this.#scheduleSweep();
    }, Math.max(0, oldest.value + this.#retainFinishedMs - Date.now()));
    this.#sweepTimer.unref();
  }

  #forget(id: string): void {
    this.#finished.delete(id);
    this.#statuses.delete(id);
  }
}
