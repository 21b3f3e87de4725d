import { integerFromEnv } from '../config.ts';

/** Settings of the default app's timed scenarios (docs/tasks.md lists their env variables). */
export interface DefaultAppSettings {
  /** The clock's interval; when unset it fires on every 5th second (`*\/5 * * * * *`). Env `HERALD_CLOCK_INTERVAL_MS`. */
  clockIntervalMs: number | undefined;
  /** How long the `example` task (`/async_task/`) takes. Env `HERALD_EXAMPLE_TASK_DELAY_MS`, default 2000. */
  exampleTaskDelayMs: number;
  /** The `example` task's timeout. Env `HERALD_EXAMPLE_TASK_TIMEOUT_MS`, default 60000. */
  exampleTaskTimeoutMs: number;
  /** How often `/echo/timed` sends the time. Env `HERALD_TIMED_ECHO_INTERVAL_MS`, default 10000. */
  timedEchoIntervalMs: number;
}

export function appSettings(overrides: Partial<DefaultAppSettings> = {}, env: NodeJS.ProcessEnv = process.env): DefaultAppSettings {
  const read = (name: string): number | undefined => integerFromEnv(name, env[name] === '' ? undefined : env[name]);
  return {
    clockIntervalMs: read('HERALD_CLOCK_INTERVAL_MS'),
    exampleTaskDelayMs: read('HERALD_EXAMPLE_TASK_DELAY_MS') ?? 2000,
    exampleTaskTimeoutMs: read('HERALD_EXAMPLE_TASK_TIMEOUT_MS') ?? 60_000,
    timedEchoIntervalMs: read('HERALD_TIMED_ECHO_INTERVAL_MS') ?? 10_000,
    ...Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)),
  };
}
