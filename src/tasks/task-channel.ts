import type { NamespaceOptions } from '../channels/namespace.ts';
import type { TaskProgress } from './task-registry.ts';

/** Each task publishes its events to a channel of its own, `task:<id>`. */
export function taskChannel(id: string): string {
  return `task:${id}`;
}

/**
 * Options of the `task` namespace. Task channels keep history so that a client that subscribes
 * late (or reconnects mid-task) still gets the latest progress and the outcome: the last 10
 * events for an hour (a `/connect` subscribe with `since`, or the `history` op, returns them).
 * Only tasks publish there: clients may not (`publish: false`), so a task's events cannot be forged.
 */
export const taskNamespaceOptions: NamespaceOptions = { history: { size: 10, ttlSeconds: 3600 }, publish: false };

/** What a task's channel carries, in order: any number of progress events, then one outcome. */
export type TaskEvent =
  | { type: 'progress'; id: string; progress: TaskProgress }
  | { type: 'completed'; id: string; result: unknown }
  | { type: 'failed'; id: string; reason: string };

/** Task ids are channel-name safe; BullMQ refuses all-digit custom ids. */
const TASK_ID = /^(?!\d+$)[A-Za-z0-9_-]{1,100}$/;

export function isValidTaskId(id: unknown): id is string {
  return typeof id === 'string' && TASK_ID.test(id);
}

/** A task's last event: it completed with a result or failed with a reason. */
export type TaskOutcome = Extract<TaskEvent, { type: 'completed' | 'failed' }>;

export function isTaskOutcome(event: unknown): event is TaskOutcome {
  const type = (event as { type?: unknown } | null)?.type;
  return type === 'completed' || type === 'failed';
}

/**
 * The idempotency key every publication of a task's outcome carries. The worker that ran the task
 * and the processes that reconcile a lost push (tasks/outcome-watch.ts) may each publish it; the
 * channel accepts the first and answers the others `duplicate`, so followers get it once.
 */
export const OUTCOME_IDEMPOTENCY_KEY = 'task-outcome';
