import { checkChannelRules, type ChannelRules } from './auth/channel-permissions.ts';

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
  /** How long shutdown waits for sockets to close and running tasks to finish, together, in ms. Env `HERALD_SHUTDOWN_TIMEOUT_MS`, default 3000. */
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

  // Authentication, permissions and limits: docs/security.md.
  /** HS256 shared secret (at least 32 characters) that turns JWT authentication on. Env `HERALD_JWT_SECRET`. */
  jwtSecret?: string | undefined;
  /** PEM public key (RSA for RS256, P-256 EC for ES256) that turns JWT authentication on. Env `HERALD_JWT_PUBLIC_KEY`. */
  jwtPublicKey?: string | undefined;
  /** JWKS URL whose keys verify tokens (RS256/ES256); turns JWT authentication on. Env `HERALD_JWT_JWKS_URL`. */
  jwtJwksUrl?: string | undefined;
  /** Accepted `alg` values; default `HS256` with a secret, `RS256,ES256` with a key or JWKS. Env `HERALD_JWT_ALGORITHMS`. */
  jwtAlgorithms?: string[] | undefined;
  /** Required `iss` claim. Env `HERALD_JWT_ISSUER`. */
  jwtIssuer?: string | undefined;
  /** Required `aud` claim. Env `HERALD_JWT_AUDIENCE`. */
  jwtAudience?: string | undefined;
  /** With JWT on: whether a socket without any token is let in as anonymous. Env `HERALD_ALLOW_ANONYMOUS`, default false. */
  allowAnonymous?: boolean;
  /** Origins allowed to open sockets (`https://app.example.com`, `https://*.example.com`); unset allows any. Env `HERALD_ALLOWED_ORIGINS` (comma-separated). */
  allowedOrigins?: string[] | undefined;
  /** Channel permissions per namespace (`{"chat": {"subscribe": "authenticated"}}`). Env `HERALD_NAMESPACES` (JSON). */
  namespaces?: Record<string, ChannelRules> | undefined;
  /** The token seed 002's `/echo/secure` expects in its `token` cookie; unset refuses everyone. Env `HERALD_DEMO_TOKEN`. */
  demoToken?: string | undefined;
  /** Text frames a connection may send per second (more: error replies; twice as many: close 1008). 0 = no limit. Env `HERALD_MAX_MESSAGES_PER_SECOND`, default 1000. */
  maxMessagesPerSecond?: number;
  /** Channels one connection may be subscribed to at once. Env `HERALD_MAX_SUBSCRIPTIONS`, default 128. */
  maxSubscriptionsPerConnection?: number;
  /** Open sockets per client IP address (more: HTTP 429 at the handshake). 0 = no limit. Env `HERALD_MAX_CONNECTIONS_PER_IP`, default 10000. */
  maxConnectionsPerIp?: number;
  /** Largest HTTP request body in bytes (more: 413). Env `HERALD_MAX_BODY_BYTES`, default 1 MiB. */
  maxBodyBytes?: number;
  /** How long a presence entry outlives its process's last refresh, in ms. Env `HERALD_PRESENCE_TTL_MS`, default 25000. */
  presenceTtlMs?: number;
  /** How often idle history channels are checked for publications lost by the broker, in ms (0: never). Env `HERALD_POSITION_CHECK_MS`, default 10000. */
  positionCheckMs?: number;
  /**
   * With Redis: how long a publish may wait for Redis to confirm it, in ms. Every publish is
   * answered by then; one that Redis has not confirmed is answered PUBLISH_OUTCOME_UNKNOWN. Env
   * `HERALD_PUBLISH_TIMEOUT_MS`, default 5000.
   */
  publishTimeoutMs?: number;
}

type OptionalKeys =
  | 'redisUrl'
  | 'apiKey'
  | 'jwtSecret'
  | 'jwtPublicKey'
  | 'jwtJwksUrl'
  | 'jwtAlgorithms'
  | 'jwtIssuer'
  | 'jwtAudience'
  | 'allowedOrigins'
  | 'namespaces'
  | 'demoToken';

export type ResolvedOptions = Required<Omit<HeraldOptions, OptionalKeys>> & Pick<HeraldOptions, OptionalKeys>;

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
  allowAnonymous: false,
  maxMessagesPerSecond: 1000,
  maxSubscriptionsPerConnection: 128,
  maxConnectionsPerIp: 10_000,
  maxBodyBytes: 1024 * 1024,
  presenceTtlMs: 25_000,
  positionCheckMs: 10_000,
  publishTimeoutMs: 5_000,
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
  checkInteger('presenceTtlMs', resolved.presenceTtlMs, 300, 3_600_000);
  checkInteger('positionCheckMs', resolved.positionCheckMs, 0, 3_600_000);
  checkInteger('publishTimeoutMs', resolved.publishTimeoutMs, 10, 600_000);
  checkInteger('taskWorkers', resolved.taskWorkers, 0, 1000);
  checkInteger('taskStallMs', resolved.taskStallMs, 500, 3_600_000);
  if (!LOG_LEVELS.has(resolved.logLevel)) {
    throw new ConfigError(`logLevel must be one of ${[...LOG_LEVELS].join(', ')}, got ${JSON.stringify(resolved.logLevel)}`);
  }
  if (resolved.redisUrl !== undefined && !/^rediss?:\/\//.test(resolved.redisUrl)) {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(resolved.redisUrl)}`);
  }
  checkInteger('maxMessagesPerSecond', resolved.maxMessagesPerSecond, 0, 1_000_000_000);
  checkInteger('maxSubscriptionsPerConnection', resolved.maxSubscriptionsPerConnection, 1, 1_000_000);
  checkInteger('maxConnectionsPerIp', resolved.maxConnectionsPerIp, 0, 1_000_000_000);
  checkInteger('maxBodyBytes', resolved.maxBodyBytes, 1, 1024 * 1024 * 1024);
  checkAuthOptions(resolved);
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
    jwtSecret: get('HERALD_JWT_SECRET'),
    // A PEM in an env var is often written on one line with literal \n.
    jwtPublicKey: get('HERALD_JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n'),
    jwtJwksUrl: get('HERALD_JWT_JWKS_URL'),
    jwtAlgorithms: listFromEnv(get('HERALD_JWT_ALGORITHMS')),
    jwtIssuer: get('HERALD_JWT_ISSUER'),
    jwtAudience: get('HERALD_JWT_AUDIENCE'),
    allowAnonymous: booleanFromEnv('HERALD_ALLOW_ANONYMOUS', get('HERALD_ALLOW_ANONYMOUS')),
    allowedOrigins: listFromEnv(get('HERALD_ALLOWED_ORIGINS')),
    namespaces: jsonFromEnv('HERALD_NAMESPACES', get('HERALD_NAMESPACES')) as HeraldOptions['namespaces'],
    demoToken: get('HERALD_DEMO_TOKEN'),
    maxMessagesPerSecond: integerFromEnv('HERALD_MAX_MESSAGES_PER_SECOND', get('HERALD_MAX_MESSAGES_PER_SECOND')),
    maxSubscriptionsPerConnection: integerFromEnv('HERALD_MAX_SUBSCRIPTIONS', get('HERALD_MAX_SUBSCRIPTIONS')),
    maxConnectionsPerIp: integerFromEnv('HERALD_MAX_CONNECTIONS_PER_IP', get('HERALD_MAX_CONNECTIONS_PER_IP')),
    maxBodyBytes: integerFromEnv('HERALD_MAX_BODY_BYTES', get('HERALD_MAX_BODY_BYTES')),
    presenceTtlMs: integerFromEnv('HERALD_PRESENCE_TTL_MS', get('HERALD_PRESENCE_TTL_MS')),
    positionCheckMs: integerFromEnv('HERALD_POSITION_CHECK_MS', get('HERALD_POSITION_CHECK_MS')),
    publishTimeoutMs: integerFromEnv('HERALD_PUBLISH_TIMEOUT_MS', get('HERALD_PUBLISH_TIMEOUT_MS')),
  } as HeraldOptions;
}

function listFromEnv(value: string | undefined): string[] | undefined {
  return value?.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function booleanFromEnv(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

function jsonFromEnv(name: string, value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new ConfigError(`${name} must be JSON, e.g. {"chat": {"subscribe": "authenticated"}}`);
  }
}

const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'ES256']);

/** Checks the JWT settings; never echoes a secret or key in its messages. */
function checkAuthOptions(o: ResolvedOptions): void {
  const sources = [o.jwtSecret, o.jwtPublicKey, o.jwtJwksUrl].filter((value) => value !== undefined).length;
  if (sources > 1) throw new ConfigError('Set only one of jwtSecret, jwtPublicKey and jwtJwksUrl');
  if (o.jwtSecret !== undefined && Buffer.byteLength(o.jwtSecret) < 32) {
    throw new ConfigError('jwtSecret (HERALD_JWT_SECRET) must be at least 32 characters long');
  }
  if (o.jwtJwksUrl !== undefined && !/^https?:\/\//.test(o.jwtJwksUrl)) {
    throw new ConfigError(`jwtJwksUrl must be an http(s) URL, got ${JSON.stringify(o.jwtJwksUrl)}`);
  }
  if (o.jwtAlgorithms !== undefined) {
    if (sources === 0) throw new ConfigError('jwtAlgorithms needs jwtSecret, jwtPublicKey or jwtJwksUrl');
    const allowed = o.jwtSecret !== undefined ? new Set(['HS256']) : ASYMMETRIC_ALGORITHMS;
    for (const alg of o.jwtAlgorithms) {
      if (!allowed.has(alg)) {
        throw new ConfigError(`jwtAlgorithms: ${JSON.stringify(alg)} is not usable here; allowed: ${[...allowed].join(', ')}`);
      }
    }
    if (o.jwtAlgorithms.length === 0) throw new ConfigError('jwtAlgorithms must not be empty');
  }
  if (o.allowedOrigins !== undefined) {
    for (const origin of o.allowedOrigins) {
      if (!/^https?:\/\/(\*\.)?[^/*]+$/.test(origin)) {
        throw new ConfigError(`allowedOrigins: ${JSON.stringify(origin)} must look like https://app.example.com or https://*.example.com`);
      }
    }
  }
  if (o.namespaces !== undefined) {
    if (typeof o.namespaces !== 'object' || o.namespaces === null || Array.isArray(o.namespaces)) {
      throw new ConfigError('namespaces must be an object of namespace name to rules');
    }
    for (const [name, rules] of Object.entries(o.namespaces)) checkChannelRules(name, rules);
  }
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
