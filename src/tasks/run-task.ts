import type { TaskContext, TaskDefinition, TaskProgress } from './task-registry.ts';

/**
 * Runs a handler under its timeout. Resolves with the result (undefined becomes null); rejects with
 * an Error whose message is the failure reason the task's channel and HTTP status report.
 */
export async function runTask(
  definition: TaskDefinition,
  id: string,
  args: unknown,
  reportProgress: (value: TaskProgress) => Promise<void>,
): Promise<unknown> {
  const controller = new AbortController();
  const context: TaskContext = {
    id,
    name: definition.name,
    signal: controller.signal,
    // A handler that ignores its signal may report after timing out: those reports are dropped.
    progress: (value) => (controller.signal.aborted ? Promise.resolve() : reportProgress(value)),
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`Task ${definition.name} timed out after ${definition.timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, definition.timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(() => definition.handler(args, context)), timedOut]);
    if (result === undefined) return null;
    try {
      JSON.stringify(result);
    } catch (error) {
      throw new Error(`Task ${definition.name} returned a result that is not JSON: ${(error as Error).message}`);
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/** The reason reported for a failed task. */
export function failureReason(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
}
