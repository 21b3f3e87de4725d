/**
 * Herald's options, and how they are read from the environment (documented in docs/config.md).
 * Every value is checked once at start-up; a bad one stops the server with a message naming it.
 */
export interface HeraldOptions {
  /** TCP port; 0 picks a free one. Env `PORT`, default 8000. */
  port?: number;
  /** Interface to listen on. Env `HOST`, default `0.0.0.0`. */
  host?: string;
  /** Redis URL; when unset the embedded in-memory broker is used. Env `REDIS_URL`. */
  redisUrl?: string | undefined;
  /** Prefix of Herald's Redis keys and channels. Env `HERALD_REDIS_PREFIX`, default `herald:`. */
  redisPrefix?: string;
  /** Bearer key required by `/api/*`; when unset `/api/*` answers loopback clients only. Env `HERALD_API_KEY`. */
  apiKey?: string | undefined;
  /** Largest WebSocket frame accepted, in bytes (larger: close 1009). Env `HERALD_MAX_FRAME_BYTES`, default 65536. */
  maxFrameBytes?: number;
  /** Unsent bytes per socket before it is closed as a slow consumer (1013). Env `HERALD_MAX_BACKLOG_BYTES`, default 1 MiB. */
  maxBacklogBytes?: number;
  /** Ping interval in ms; a peer silent for two intervals is dropped. Env `HERALD_HEARTBEAT_MS`, default 25000. */
  heartbeatMs?: number;
  /** How long shutdown waits for sockets to close, in ms. Env `HERALD_SHUTDOWN_TIMEOUT_MS`, default 3000. */
  shutdownTimeoutMs?: number;
  /**
   * How many tasks this process runs at once. With Redis, 0 makes a server only start tasks and
   * leave running them to worker processes (`npm run worker`). Env `HERALD_TASK_WORKERS`, default 4.
   */
  taskWorkers?: number;
  /**
   * With Redis: the lock time of a running task and the interval of the check for tasks whose
   * worker died; such a task runs again elsewhere after one to two of these. Env
   * `HERALD_TASK_STALL_MS`, default 30000.
   */
  taskStallMs?: number;
  /** Log level (`fatal` … `trace`, or `silent`). Env `LOG_LEVEL`, default `info`. */
  logLevel?: string;
  /** How long a presence entry outlives its process's last refresh, in ms. Env `HERALD_PRESENCE_TTL_MS`, default 25000. */
  presenceTtlMs?: number;
  /** How often idle history channels are checked for publications lost by the broker, in ms (0: never). Env `HERALD_POSITION_CHECK_MS`, default 10000. */
  positionCheckMs?: number;
}

export type ResolvedOptions = Required<Omit<HeraldOptions, 'redisUrl' | 'apiKey'>> &
  Pick<HeraldOptions, 'redisUrl' | 'apiKey'>;

export const defaults = {
  port: 8000,
  host: '0.0.0.0',
  redisPrefix: 'herald:',
  maxFrameBytes: 64 * 1024,
  maxBacklogBytes: 1024 * 1024,
  heartbeatMs: 25_000,
  shutdownTimeoutMs: 3_000,
  taskWorkers: 4,
  taskStallMs: 30_000,
  logLevel: 'info',
  presenceTtlMs: 25_000,
  positionCheckMs: 10_000,
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export function resolveOptions(options: HeraldOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    ...defaults,
    ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)),
  };
  checkInteger('port', resolved.port, 0, 65535);
  checkInteger('maxFrameBytes', resolved.maxFrameBytes, 1, 256 * 1024 * 1024);
  checkInteger('maxBacklogBytes', resolved.maxBacklogBytes, 1024, 1024 * 1024 * 1024);
  checkInteger('heartbeatMs', resolved.heartbeatMs, 100, 3_600_000);
  checkInteger('shutdownTimeoutMs', resolved.shutdownTimeoutMs, 0, 600_000);
  checkInteger('taskWorkers', resolved.taskWorkers, 0, 1000);
  checkInteger('taskStallMs', resolved.taskStallMs, 500, 3_600_000);
  checkInteger('presenceTtlMs', resolved.presenceTtlMs, 300, 3_600_000);
  checkInteger('positionCheckMs', resolved.positionCheckMs, 0, 3_600_000);
  if (!LOG_LEVELS.has(resolved.logLevel)) {
    throw new ConfigError(`logLevel must be one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(resolved.logLevel)}`);
  }
  if (resolved.redisUrl !== undefined && !/^rediss?:\/\//.test(resolved.redisUrl)) {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(resolved.redisUrl)}`);
  }
  return resolved;
}

/** Reads the options from environment variables (unset or empty variables keep the defaults). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): HeraldOptions {
  const get = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  return {
    port: integerFromEnv('PORT', get('PORT')),
    host: get('HOST'),
    redisUrl: get('REDIS_URL'),
    redisPrefix: get('HERALD_REDIS_PREFIX'),
    apiKey: get('HERALD_API_KEY'),
    maxFrameBytes: integerFromEnv('HERALD_MAX_FRAME_BYTES', get('HERALD_MAX_FRAME_BYTES')),
    maxBacklogBytes: integerFromEnv('HERALD_MAX_BACKLOG_BYTES', get('HERALD_MAX_BACKLOG_BYTES')),
    heartbeatMs: integerFromEnv('HERALD_HEARTBEAT_MS', get('HERALD_HEARTBEAT_MS')),
    shutdownTimeoutMs: integerFromEnv('HERALD_SHUTDOWN_TIMEOUT_MS', get('HERALD_SHUTDOWN_TIMEOUT_MS')),
    taskWorkers: integerFromEnv('HERALD_TASK_WORKERS', get('HERALD_TASK_WORKERS')),
    taskStallMs: integerFromEnv('HERALD_TASK_STALL_MS', get('HERALD_TASK_STALL_MS')),
    logLevel: get('LOG_LEVEL'),
    presenceTtlMs: integerFromEnv('HERALD_PRESENCE_TTL_MS', get('HERALD_PRESENCE_TTL_MS')),
    positionCheckMs: integerFromEnv('HERALD_POSITION_CHECK_MS', get('HERALD_POSITION_CHECK_MS')),
  } as HeraldOptions;
}

export function integerFromEnv(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}
