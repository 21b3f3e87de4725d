import { Queue, Worker, type Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { settlesBefore } from '../deadline.ts';
import { Errors, HeraldError } from '../errors.ts';
import { failureReason, runTask } from './run-task.ts';
import type { TaskProgress, TaskRegistry } from './task-registry.ts';
import type { TaskEventSink, TaskRunner, TaskState, TaskStatus } from './task-runner.ts';

/** Opens a named connection to the engine's Redis (one, behind Sentinel, or a cluster client). */
export type RedisConnector = (role: string, options: RedisOptions) => Redis | Cluster;

export interface BullMqTaskRunnerOptions {
  connect: RedisConnector;
  /** BullMQ's prefix (engine/redis-keys.ts): the queue's keys live under `<prefix>:herald-tasks:`. */
  prefix: string;
  /**
   * How long a running task's lock lasts without renewal, and how often workers look for tasks
   * whose worker died: a killed worker's task runs again elsewhere after about twice this.
   */
  stallMs: number;
  /** Waiting jobs in the queue (cluster-wide) beyond which a start is refused with TASK_QUEUE_FULL. */
  maxQueued: number;
  registry: TaskRegistry;
  publish: TaskEventSink;
  log: FastifyBaseLogger;
}

interface JobData {
  args: unknown;
}

const QUEUE = 'herald-tasks';

/**
 * Tasks in a BullMQ queue in Redis. Any process with workers (a server, unless
 * `HERALD_TASK_WORKERS=0`, or `npm run worker`) may run a task; the worker publishes progress and
 * outcome to the task's channel, so they reach the starting socket on whichever process holds it.
 * A task whose worker dies is found by another worker's stalled-job check and run again once
 * (BullMQ `maxStalledCount: 1`); a second death fails it, and that too is published.
 */
export class BullMqTaskRunner implements TaskRunner {
  readonly kind = 'bullmq' as const;
  readonly #options: BullMqTaskRunnerOptions;
  #connection: Redis | Cluster | undefined;
  #queue: Queue<JobData> | undefined;
  #worker: Worker<JobData> | undefined;
  #workerConnection: Redis | Cluster | undefined;
  #closed = false;
  #queueClosed = false;

  constructor(options: BullMqTaskRunnerOptions) {
    this.#options = options;
  }

  /** The queue, connected on first use: creating a Herald opens no Redis connection by itself. */
  #queueNow(): Queue<JobData> {
    // After close() nothing may open a connection again (the outcome watch still asks for statuses).
    // An open queue stays usable until it is closed itself: sockets closing during the shutdown
    // still queue their users' offline checks and webhooks.
    if (this.#queueClosed || (this.#closed && this.#queue === undefined)) throw new HeraldError(Errors.SHUTTING_DOWN, 'The task runner is closed');
    if (this.#queue === undefined) {
      // Starting a task fails fast (503) while Redis is down rather than waiting in memory.
      this.#connection = this.#options.connect('tasks', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
      this.#connection.on('error', () => {});
      this.#queue = new Queue<JobData>(QUEUE, { connection: this.#connection, prefix: this.#prefix });
      this.#queue.on('error', () => {});
    }
    return this.#queue;
  }

  get #prefix(): string {
    return this.#options.prefix;
  }

  /** Resolves once the queue's Redis connection is ready (BullMQ connects it). */
  async start(): Promise<void> {
    await this.#queueNow().waitUntilReady();
  }

  /** Tasks this process's workers ran that failed, for /metrics. */
  failures = 0;

  async depth(): Promise<{ waiting: number; running: number }> {
    const counts = await this.#queueNow().getJobCounts('waiting', 'active');
    return { waiting: counts.waiting ?? 0, running: counts.active ?? 0 };
  }

  async enqueue(id: string, name: string, args: unknown, options: { delayMs?: number } = {}): Promise<void> {
    const queue = this.#queueNow();
    let waiting: number;
    try {
      waiting = await queue.getWaitingCount();
    } catch (error) {
      throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The task queue is not reachable; the task was not started', { cause: error });
    }
    // Checked, then added: concurrent starts on several processes may pass the bound by a few.
    if (waiting >= this.#options.maxQueued) {
      throw new HeraldError(Errors.TASK_QUEUE_FULL, `${this.#options.maxQueued} tasks are already waiting to run; the task was not started`);
    }
    try {
      await queue.add(name, { args }, {
        jobId: id,
        attempts: 1,
        ...(options.delayMs !== undefined && options.delayMs > 0 ? { delay: options.delayMs } : {}),
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 86_400, count: 10_000 },
      });
    } catch (error) {
      throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The task queue is not reachable; the task was not started', { cause: error });
    }
  }

  async status(id: string): Promise<TaskStatus | undefined> {
    let job: Job<JobData> | undefined;
    let state: string;
    const queue = this.#queueNow();
    try {
      job = (await queue.getJob(id)) as Job<JobData> | undefined;
      if (job === undefined || job === null) return undefined;
      state = await job.getState();
    } catch (error) {
      throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The task queue is not reachable', { cause: error });
    }
    const status: TaskStatus = { id, name: job.name, state: stateOf(state), runs: job.attemptsStarted ?? 0, progress: (job.progress ?? 0) as TaskProgress };
    if (status.state === 'completed') status.result = job.returnvalue ?? null;
    if (status.state === 'failed') status.reason = job.failedReason;
    return status;
  }

  async startWorkers(concurrency: number): Promise<void> {
    if (this.#worker !== undefined || concurrency < 1) return;
    const { connect, stallMs, registry, publish, log } = this.#options;
    // Workers block on Redis; BullMQ requires unlimited retries on their connection.
    this.#workerConnection = connect('task-worker', { maxRetriesPerRequest: null });
    this.#workerConnection.on('error', () => {});
    this.#worker = new Worker<JobData>(
      QUEUE,
      async (job) => {
        const definition = registry.get(job.name);
        if (definition === undefined) throw new Error(`No handler for task ${job.name} in this worker`);
        return runTask(definition, job.id!, job.data.args, async (progress) => {
          await job.updateProgress(progress);
          await publish({ type: 'progress', id: job.id!, progress });
        });
      },
      {
        connection: this.#workerConnection,
        prefix: this.#prefix,
        concurrency,
        lockDuration: stallMs,
        stalledInterval: stallMs,
        maxStalledCount: 1,
      },
    );
    // Outcomes are published once BullMQ has recorded them, so a client that reads
    // GET /api/tasks/:id on hearing the outcome sees the same.
    // A failed publish (Redis blip) is retried for a while; if the worker dies meanwhile, the
    // processes following the task publish the stored outcome instead (tasks/outcome-watch.ts).
    const announce = (event: Parameters<TaskEventSink>[0]): void => {
      void (async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await publish(event);
          } catch (error) {
            if (attempt === ANNOUNCE_ATTEMPTS - 1 || this.#closed) {
              log.warn({ task: event.id, err: error }, 'could not publish task outcome; its followers will read the stored one');
              return;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5000)).unref());
        }
      })();
    };
    this.#worker.on('completed', (job, result) => announce({ type: 'completed', id: job.id!, result: result ?? null }));
    this.#worker.on('failed', (job, error) => {
      this.failures++;
      if (job !== undefined && job.id !== undefined) announce({ type: 'failed', id: job.id, reason: failureReason(error) });
    });
    // A task whose worker died once too often is failed by the stalled-job check, which emits no
    // 'failed' event: the worker that ran the check announces it.
    this.#worker.on('stalled', (id) => {
      this.status(id).then(
        (status) => {
          if (status?.state !== 'failed') return;
          this.failures++;
          announce({ type: 'failed', id, reason: status.reason ?? 'stalled' });
        },
        (error: unknown) => log.warn({ task: id, err: error }, 'could not read a stalled task'),
      );
    });
    // While Redis is down the worker fails on every retry: log the first error of a burst only.
    let lastErrorLog = 0;
    this.#worker.on('error', (error) => {
      if (Date.now() - lastErrorLog < 10_000) return;
      lastErrorLog = Date.now();
      log.warn({ err: error }, 'task worker error (repeats within 10 s are not logged)');
    });
    await this.#worker.waitUntilReady();
  }

  /**
   * Stops the worker (waiting up to `timeoutMs` for running tasks) and releases Redis, finishing
   * within `timeoutMs` whatever Redis does: with Redis down, BullMQ's closes and QUIT wait for a
   * reconnection that may never come (the worker's connection retries forever), so each step is
   * bounded by the deadline and the connections are then dropped.
   */
  async close(timeoutMs: number, options: { queueUntil?: Promise<unknown> } = {}): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + timeoutMs;
    const worker = this.#worker;
    // Tasks still running after the timeout are left to the stalled-job check of another worker.
    if (worker !== undefined && !(await settlesBefore(worker.close(), deadline))) {
      for (const connection of [this.#connection, this.#workerConnection]) connection?.disconnect();
      await settlesBefore(worker.close(true), Date.now() + FORCED_CLOSE_MS);
    }
    if (options.queueUntil !== undefined) await settlesBefore(options.queueUntil, deadline);
    this.#queueClosed = true;
    if (this.#queue !== undefined) await settlesBefore(this.#queue.close(), deadline);
    for (const connection of [this.#connection, this.#workerConnection]) {
      if (connection === undefined) continue;
      if (connection.status === 'ready') await settlesBefore(connection.quit(), deadline);
      connection.disconnect();
    }
  }
}

/** Publish attempts for an outcome before leaving it to the followers' reconciliation (about 20 s in all). */
const ANNOUNCE_ATTEMPTS = 8;

/** How long a forced worker close may take once its connections are dropped. */
const FORCED_CLOSE_MS = 500;

function stateOf(state: string): TaskState {
  if (state === 'completed' || state === 'failed') return state;
  if (state === 'active') return 'running';
  return 'queued';
}
