import type { FastifyBaseLogger } from 'fastify';
import { failureReason, runTask } from './run-task.ts';
import type { TaskRegistry } from './task-registry.ts';
import type { TaskEventSink, TaskRunner, TaskStatus } from './task-runner.ts';

/** How long a finished task's status stays readable. */
const RETAIN_FINISHED_MS = 3_600_000;

/**
 * Tasks without Redis: a FIFO queue and at most `concurrency` handlers at a time, in this process.
 * Same events and statuses as the BullMQ runner, minus durability: a task dies with the process.
 */
export class InProcessTaskRunner implements TaskRunner {
  readonly kind = 'in-process' as const;
  readonly #registry: TaskRegistry;
  readonly #publish: TaskEventSink;
  readonly #log: FastifyBaseLogger;
  readonly #statuses = new Map<string, TaskStatus>();
  readonly #waiting: Array<{ id: string; args: unknown }> = [];
  readonly #running = new Set<Promise<void>>();
  #concurrency = 0;

  constructor(registry: TaskRegistry, publish: TaskEventSink, log: FastifyBaseLogger) {
    this.#registry = registry;
    this.#publish = publish;
    this.#log = log;
  }

  async start(): Promise<void> {}

  async enqueue(id: string, name: string, args: unknown): Promise<void> {
    if (this.#statuses.has(id)) return;
    this.#statuses.set(id, { id, name, state: 'queued', runs: 0, progress: 0 });
    this.#waiting.push({ id, args });
    // Never run within the caller's turn: like a queue, start() resolves before the task runs.
    setImmediate(() => this.#pump());
  }

  async status(id: string): Promise<TaskStatus | undefined> {
    const status = this.#statuses.get(id);
    return status === undefined ? undefined : { ...status };
  }

  async startWorkers(concurrency: number): Promise<void> {
    this.#concurrency = Math.max(1, concurrency);
    this.#pump();
  }

  async close(timeoutMs: number): Promise<void> {
    this.#concurrency = 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#running]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
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
    }
    setTimeout(() => this.#statuses.delete(id), RETAIN_FINISHED_MS).unref();
    const event = status.state === 'completed' ? { type: 'completed' as const, id, result: status.result } : { type: 'failed' as const, id, reason: status.reason! };
    await this.#publish(event).catch((error: unknown) => this.#log.warn({ task: id, err: error }, 'could not publish task outcome'));
  }
}
