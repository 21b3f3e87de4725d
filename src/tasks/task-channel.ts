import type { NamespaceOptions } from '../channels/namespace.ts';
import type { TaskProgress } from './task-registry.ts';

/** Each task publishes its events to a channel of its own, `task:<id>`. */
export function taskChannel(id: string): string {
  return `task:${id}`;
}

/**
 * Options of the `task` namespace. Task channels are meant to keep history so that a client that
 * subscribes late (or reconnects mid-task) still gets the latest progress and the outcome: when
 * channel history lands (issue 3), this becomes `{ history: { size: 10, ttlMs: 3_600_000 } }`.
 * Until then a late client reads the outcome from `GET /api/tasks/:id`.
 */
export const taskNamespaceOptions: NamespaceOptions = {};

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
