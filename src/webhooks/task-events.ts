import { isTaskOutcome, type TaskEvent } from '../tasks/task-channel.ts';
import type { TaskEventSink } from '../tasks/task-runner.ts';
import { BUILT_IN_TASK_ID_PREFIX, type Webhooks } from './webhooks.ts';

/**
 * The task runner's event sink with `task.completed` and `task.failed` webhooks: the runner
 * announces each outcome once, from the process that ran the task (retrying the same event object
 * when its publish fails), so that is where they are emitted, once. Herald's own tasks (webhook
 * deliveries, offline checks) have no followers and are neither published nor reported.
 */
export function withTaskWebhooks(publish: TaskEventSink, webhooks: () => Webhooks): TaskEventSink {
  const announced = new WeakSet<TaskEvent>();
  return (event) => {
    if (event.id.startsWith(BUILT_IN_TASK_ID_PREFIX)) return Promise.resolve();
    if (isTaskOutcome(event) && !announced.has(event)) {
      announced.add(event);
      const data = event.type === 'completed' ? { task: event.id, result: event.result } : { task: event.id, reason: event.reason };
      webhooks().emitLogged(`task.${event.type}`, data, `task-${event.type}-${event.id}`);
    }
    return publish(event);
  };
}
