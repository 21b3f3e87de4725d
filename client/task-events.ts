/** What a task's channel carries, in order: any number of progress events, then one outcome. */
export type TaskEvent =
  | { type: 'progress'; id: string; progress: unknown }
  | { type: 'completed'; id: string; result: unknown }
  | { type: 'failed'; id: string; reason: string };

export type TaskEventHandler = (event: TaskEvent) => void;

export function isOutcome(data: unknown): boolean {
  const type = (data as { type?: unknown } | null)?.type;
  return type === 'completed' || type === 'failed';
}
