import { CloseCode, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';
import { parseJsonObject } from './json-frame.ts';

/**
 * Seed 004: a socket starts the `example` task and is told its result when it finishes (pushed
 * through the task's channel from whichever process ran it; the seed polled every 0.1 s). One task
 * per socket, as in the seed: the socket closes normally (1000) after its answer.
 */
export function asyncTask(herald: Herald, settings: { delayMs: number; timeoutMs: number }): void {
  herald.task(
    'example',
    async ({ value, reportProgress }: { value: unknown; reportProgress?: boolean }, ctx) => {
      // The task page (POST /example_task) asks for progress in ten steps; the seed's socket does not.
      const steps = reportProgress === true ? 10 : 1;
      for (let step = 1; step <= steps; step++) {
        await new Promise<void>((resolve, reject) => {
          const aborted = (): void => {
            clearTimeout(timer);
            reject(ctx.signal.reason);
          };
          const timer = setTimeout(() => {
            ctx.signal.removeEventListener('abort', aborted);
            resolve();
          }, settings.delayMs / steps);
          ctx.signal.addEventListener('abort', aborted, { once: true });
        });
        if (steps > 1) await ctx.progress((100 * step) / steps);
      }
      return value;
    },
    { timeoutMs: settings.timeoutMs, clients: true },
  );

  herald.socket('/async_task/', (socket) => {
    let started = false;
    const answer = (reply: object): void => {
      socket.send(reply);
      socket.close(CloseCode.NORMAL);
    };
    socket.onMessage(async (text) => {
      if (started) {
        socket.send({ msg: '每个连接只执行一个任务', flag: false });
        return;
      }
      started = true;
      const params = parseJsonObject(text);
      if (params === undefined) return answer({ msg: '参数格式有误', flag: false });
      const taskId = params.task_id;
      if (isFalsy(taskId)) return answer({ msg: '缺少必要参数', flag: false });
      socket.send({ msg: `任务${typeof taskId === 'string' ? taskId : JSON.stringify(taskId)}正在执行。。。`, flag: true });
      try {
        const result = await herald.tasks.run('example', { value: taskId });
        answer({ msg: 'success', flag: true, data: { result } });
      } catch (error) {
        // A failed task, or one that could not be started (Redis down): the seed's shape, with the reason.
        if (!(error instanceof HeraldError)) throw error;
        answer({ msg: 'failed', flag: false, data: { reason: error.message } });
      }
    });
  });
}

/** The seed checks `if not task_id`: Python's falsy values. */
function isFalsy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}
