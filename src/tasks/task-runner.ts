import type { TaskEvent } from './task-channel.ts';
import type { TaskProgress } from './task-registry.ts';

/** `queued` → `running` → `completed` | `failed`. */
export type TaskState = 'queued' | 'running' | 'completed' | 'failed';

/** A task as `GET /api/tasks/:id` reports it. */
export interface TaskStatus {
  id: string;
  name: string;
  state: TaskState;
  /** How many times the task has started running: more than 1 when a worker died running it. */
  runs: number;
  /** The latest progress report; 0 until the first. */
  progress: TaskProgress;
  /** The handler's return value, once `completed`. */
  result?: unknown;
  /** Why it failed (the error's message, or "timed out"), once `failed`. */
  reason?: string;
}

/** Publishes an event on the task's channel (`task:<id>`). */
export type TaskEventSink = (event: TaskEvent) => Promise<void>;

/**
 * Where tasks wait and run. `InProcessTaskRunner` (no Redis) runs them in this process and keeps
 * their status in memory; `BullMqTaskRunner` puts them in a BullMQ queue in Redis, where any
 * worker process may run them and they survive the death of the process that started them.
 * Both publish progress and outcome through the sink, so the starter hears the result as a push.
 */
export interface TaskRunner {
  readonly kind: 'in-process' | 'bullmq';
  /** Connects (BullMQ: the queue's Redis connection). */
  start(): Promise<void>;
  /**
   * Queues a task. Idempotent per id. `delayMs`: it becomes runnable only that much later (with
   * BullMQ a delayed job, which survives the death of this process; in process a timer).
   */
  enqueue(id: string, name: string, args: unknown, options?: { delayMs?: number }): Promise<void>;
  /** The task's status; undefined for an unknown (or long-expired) id. */
  status(id: string): Promise<TaskStatus | undefined>;
  /** Starts running queued tasks here, at most `concurrency` at a time. */
  startWorkers(concurrency: number): Promise<void>;
  /** Tasks this process ran that failed (threw, timed out or stalled too often), for /metrics. */
  readonly failures: number;
  /** Tasks waiting to run and running, for /metrics (with Redis: across the cluster). */
  depth(): Promise<{ waiting: number; running: number }>;
  /**
   * Stops running tasks; waits up to `timeoutMs` for running ones. Tasks may still be queued until
   * `queueUntil` settles (within the timeout): what closing sockets queue at shutdown (their users'
   * offline checks) is not lost.
   */
  close(timeoutMs: number, options?: { queueUntil?: Promise<unknown> }): Promise<void>;
}
