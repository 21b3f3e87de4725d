import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker, type Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { RedisConnector } from '../tasks/bullmq-runner.ts';
import { quitBefore, settlesBefore } from '../deadline.ts';
import type { RunTick, TickDispatcher } from './tick-dispatcher.ts';

export interface DurableTicksOptions {
  connect: RedisConnector;
  /** BullMQ's prefix (engine/redis-keys.ts): schedule `<name>`'s queue lives under `<prefix>:herald-schedule-<name>:`. */
  prefix: string;
  /**
   * How long a running tick's lock lasts without renewal, and how often each process looks for
   * ticks whose process died: such a tick runs again elsewhere after one to two of these.
   */
  stallMs: number;
  run: RunTick;
  log: FastifyBaseLogger;
}

interface TickData {
  tick: number;
  period: number;
}

/** The BullMQ queue that holds schedule `name`'s ticks. */
export function scheduleQueueName(name: string): string {
  return `herald-schedule-${name}`;
}

/** The id of tick `tickMs`'s job: the same on every process, so the tick is queued once. */
export function tickJobId(tickMs: number): string {
  return `tick-${tickMs}`;
}

/** How long a process keeps retrying to queue a due tick while Redis is unreachable, between tries. */
const QUEUE_RETRY_MS = 200;
/**
 * How long a tick's job is kept after it finished, at least: a process whose clock is behind by
 * less than this finds the job and does not queue the tick again.
 */
const MIN_TICK_RETENTION_MS = 10 * 60_000;

/**
 * Ticks as durable jobs, one BullMQ queue per schedule. Every process's timer queues each due tick
 * under the tick's own job id, so the tick is queued once however many processes reach it (and
 * whatever their clocks say, within the retention); a worker on any process takes it. Because the
 * tick is a job, a process that dies while running the handler leaves a job whose lock expires, and
 * another process's stalled-job check runs it again (BullMQ `maxStalledCount: 1`: a second death
 * fails the tick). Each queue has a global concurrency of 1, so a schedule's handler never runs on
 * two processes at once; a tick that waited behind a slow one for over two periods is skipped, so a
 * slow handler does not build a backlog.
 */
export class DurableTicks implements TickDispatcher {
  readonly #options: DurableTicksOptions;
  /** Queues ticks; fails fast while Redis is down, so the timer can retry and then give up. */
  readonly #commands: Redis | Cluster;
  /** Shared by the workers (each opens its own blocking connection from it). */
  readonly #workerConnection: Redis | Cluster;
  readonly #queues = new Map<string, Queue<TickData>>();
  readonly #workers = new Map<string, Worker<TickData>>();
  #closed = false;

  constructor(options: DurableTicksOptions) {
    this.#options = options;
    this.#commands = options.connect('schedules', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.#commands.on('error', () => {});
    // A Redis that restarted empty has forgotten the one-at-a-time setting: say it again.
    this.#commands.on('ready', () => {
      for (const queue of this.#queues.values()) queue.setGlobalConcurrency(1).catch(() => {});
    });
    // Workers block on Redis; BullMQ requires unlimited retries on their connection.
    this.#workerConnection = options.connect('schedule-worker', { maxRetriesPerRequest: null });
    this.#workerConnection.on('error', () => {});
  }

  get #prefix(): string {
    return this.#options.prefix;
  }

  async open(name: string): Promise<void> {
    if (this.#closed || this.#workers.has(name)) return;
    const queue = this.#queue(name);
    await queue.waitUntilReady();
    await queue.setGlobalConcurrency(1);
    const { stallMs, log } = this.#options;
    const worker = new Worker<TickData>(scheduleQueueName(name), (job) => this.#process(name, job), {
      connection: this.#workerConnection,
      prefix: this.#prefix,
      concurrency: 1,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      maxStalledCount: 1,
      // Names the process in the job (`processedBy`), for operators and tests.
      name: `${hostname()}/${process.pid}`,
    });
    this.#workers.set(name, worker);
    let lastErrorLog = 0;
    worker.on('error', (error) => {
      // While Redis is down the worker fails on every retry: log the first error of a burst only.
      if (Date.now() - lastErrorLog < 10_000) return;
      lastErrorLog = Date.now();
      log.warn({ schedule: name, err: error }, 'schedule worker error (repeats within 10 s are not logged)');
    });
    worker.on('failed', (job, error) => {
      log.error({ schedule: name, tick: job === undefined ? undefined : new Date(job.data.tick).toISOString(), err: error }, 'schedule tick failed');
    });
    await worker.waitUntilReady();
  }

  /**
   * Queues the tick. While Redis cannot be reached, retries until the tick is one period overdue,
   * then skips it with a warning (so does every other process, so the tick is lost only if Redis
   * was unreachable from all of them for that whole period).
   */
  async due(name: string, tickMs: number, periodMs: number): Promise<void> {
    const queue = this.#queue(name);
    const retentionS = Math.ceil(Math.max(2 * periodMs, MIN_TICK_RETENTION_MS) / 1000);
    for (;;) {
      try {
        await queue.add('tick', { tick: tickMs, period: periodMs }, {
          jobId: tickJobId(tickMs),
          attempts: 1,
          removeOnComplete: { age: retentionS },
          removeOnFail: { age: retentionS },
        });
        return;
      } catch (error) {
        if (this.#closed) return;
        if (Date.now() + QUEUE_RETRY_MS > tickMs + periodMs) {
          this.#options.log.warn({ schedule: name, tick: new Date(tickMs).toISOString(), err: error }, 'schedule tick skipped: could not reach Redis');
          return;
        }
        await sleep(QUEUE_RETRY_MS);
      }
    }
  }

  /**
   * Stops taking ticks, waits until `deadline` for a handler running here, and releases Redis. A
   * handler still running at the deadline is abandoned: its tick runs again on another process
   * once its lock expires.
   */
  async close(deadline: number): Promise<void> {
    this.#closed = true;
    const workers = [...this.#workers.values()];
    const closing = Promise.all(workers.map((worker) => worker.close()));
    if (!(await settlesBefore(closing, deadline))) {
      // Out of time (a handler still running, or Redis not answering): drop the connection and
      // let the forced close finish by itself.
      this.#workerConnection.disconnect();
      void Promise.all(workers.map((worker) => worker.close(true))).catch(() => {});
    }
    await settlesBefore(Promise.all([...this.#queues.values()].map((queue) => queue.close())), deadline);
    await Promise.all([quitBefore(this.#commands, deadline), quitBefore(this.#workerConnection, deadline)]);
  }

  #queue(name: string): Queue<TickData> {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue<TickData>(scheduleQueueName(name), { connection: this.#commands, prefix: this.#prefix });
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async #process(name: string, job: Job<TickData>): Promise<void> {
    const { tick, period } = job.data;
    // A tick re-run because its process died runs however late: that is what the job is for.
    if (job.stalledCounter === 0 && Date.now() - tick > 2 * period) {
      this.#options.log.warn({ schedule: name, tick: new Date(tick).toISOString() }, 'schedule tick skipped: it waited over two periods behind the previous tick');
      return;
    }
    await this.#options.run(name, tick);
  }
}
