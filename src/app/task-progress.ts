import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';
import { parseJsonObject } from './json-frame.ts';

/**
 * The task page's socket: like seed 004's `/async_task/`, `{"task_id": N}` starts the `example`
 * task, but this socket is pushed every event of the task as it happens (from whichever process
 * runs it): `{"type":"started","id"}`, then `{"type":"progress","id","progress":10}` … 100, then
 * `{"type":"completed","id","result":N}` or `{"type":"failed","id","reason"}`. The socket stays
 * open for more tasks.
 */
export function taskProgress(herald: Herald): void {
  herald.socket('/async_task/progress', (socket) => {
    socket.onMessage(async (text) => {
      const taskId = parseJsonObject(text)?.task_id;
      if (taskId === undefined || taskId === null || taskId === '') {
        throw new HeraldError(Errors.BAD_REQUEST, 'Send {"task_id": <value>} to start the example task');
      }
      const { id } = await herald.tasks.start('example', { value: taskId }, { subscribe: socket });
      socket.send({ type: 'started', id });
    });
  });
}
