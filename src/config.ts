import { isIP } from 'node:net';
import { checkChannelRules, type ChannelRules } from './auth/channel-permissions.ts';
import { settingsFromEnv } from './config-env.ts';
import { schemaDefaults, type ConfigKey, type configSchema } from './config-schema.ts';
import { checkSettings } from './config-validation.ts';
import type { PusherAppConfig } from './pusher/pusher-apps.ts';
import { checkWebhookEndpoints, type WebhookEndpoint } from './webhooks/endpoints.ts';

const SERVE_ONLY = new Set<string>(['demos', 'workers'] satisfies (keyof ServeSettings)[]);

/**
 * Herald's options. What each accepts, its default and its environment variable are in the schema
 * (config-schema.ts), which docs/config.md is generated from. Every value is checked once at
 * start-up; a bad one stops the server with a message naming it.
 */
export interface HeraldOptions {
  /** TCP port; 0 picks a free one. Env `PORT`, default 8000. */
  port?: number;
  /** Interface to listen on. Env `HOST`, default `0.0.0.0`. */
  host?: string;
  /** Redis URL; when unset the embedded in-memory broker is used. Env `REDIS_URL`. */
  redisUrl?: string | undefined;
  /** `host:port` of some Redis Cluster nodes; instead of `redisUrl`. Env `REDIS_CLUSTER_NODES` (comma-separated). */
  redisClusterNodes?: string[] | undefined;
  /** `host:port` of Redis Sentinels; with `redisSentinelName`, instead of `redisUrl`. Env `REDIS_SENTINELS` (comma-separated). */
  redisSentinels?: string[] | undefined;
  /** The Sentinel-monitored primary's name. Env `REDIS_SENTINEL_NAME`. */
  redisSentinelName?: string | undefined;
  /** Prefix of Herald's Redis keys and channels. Env `HERALD_REDIS_PREFIX`, default `herald:`. */
  redisPrefix?: string;
  /** Bearer key required by `/api/*`; when unset `/api/*` answers loopback clients only. Env `HERALD_API_KEY`. */
  apiKey?: string | undefined;
  /**
   * Addresses or CIDRs of reverse proxies whose `X-Forwarded-For` is believed: a request from one of
   * them is taken to come from the rightmost forwarded hop that is not a trusted proxy. Unset: every
   * request is from the address it came from. Env `HERALD_TRUST_PROXY` (comma-separated).
   */
  trustProxy?: string[] | undefined;
  /** Largest WebSocket frame accepted, in bytes (larger: close 1009). Env `HERALD_MAX_FRAME_BYTES`, default 65536. */
  maxFrameBytes?: number;
  /** Unsent bytes per socket before it is closed as a slow consumer (1013). Env `HERALD_MAX_BACKLOG_BYTES`, default 1 MiB. */
  maxBacklogBytes?: number;
  /** Ping interval in ms; a peer silent for two intervals is dropped. Env `HERALD_HEARTBEAT_MS`, default 25000. */
  heartbeatMs?: number;
  /**
   * How long a WebSocket handshake may wait for its route to settle (authentication, subscriptions
   * confirmed by the broker) before it is answered 503 `HERALD_ERR_HANDSHAKE_TIMEOUT`, in ms. Env
   * `HERALD_HANDSHAKE_TIMEOUT_MS`, default 10000.
   */
  handshakeTimeoutMs?: number;
  /** How long a client may take to send an HTTP request's headers (more: 408, connection closed), in ms. Env `HERALD_HTTP_HEADERS_TIMEOUT_MS`, default 10000. */
  httpHeadersTimeoutMs?: number;
  /** How long a client may take to send a whole HTTP request, body included (more: 408), in ms; at least the headers timeout. Env `HERALD_HTTP_REQUEST_TIMEOUT_MS`, default 30000. */
  httpRequestTimeoutMs?: number;
  /** How long an idle keep-alive HTTP connection is kept between requests, in ms. Env `HERALD_HTTP_KEEP_ALIVE_TIMEOUT_MS`, default 5000. */
  httpKeepAliveTimeoutMs?: number;
  /** How long shutdown waits for sockets to close and running tasks to finish, together, in ms. Env `HERALD_SHUTDOWN_TIMEOUT_MS`, default 3000. */
  shutdownTimeoutMs?: number;
  /**
   * At shutdown, the time over which open sockets are closed in batches (and `/connect` clients told
   * when to reconnect), in ms; part of the shutdown timeout, clamped to 80% of the sockets' share of
   * it. 0: all at once. Env `HERALD_DRAIN_MS`, default 2000.
   */
  drainMs?: number;
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
  /**
   * How often a process checks the stored status of the tasks it follows (a socket it subscribed
   * with `tasks.start`, the `task` op, `tasks.run`) whose outcome has not arrived, and publishes
   * the stored outcome if its push was lost. Env `HERALD_TASK_OUTCOME_CHECK_MS`, default 10000.
   */
  taskOutcomeCheckMs?: number;
  /**
   * Tasks that may wait to run (queued, not yet running); starting one more is refused with
   * HERALD_ERR_TASK_QUEUE_FULL (503). With Redis the count is the queue's, across the cluster.
   * Env `HERALD_MAX_QUEUED_TASKS`, default 1000.
   */
  maxQueuedTasks?: number;
  /**
   * With Redis: the lock time of a running schedule tick and the interval of the check for ticks
   * whose process died; such a tick runs again on another process after one to two of these. Env
   * `HERALD_SCHEDULE_STALL_MS`, default 30000.
   */
  scheduleStallMs?: number;
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
  /** JWT claim that, when `true`, makes a token an admin token (accepted wherever the API key is). Env `HERALD_ADMIN_CLAIM`. */
  adminClaim?: string | undefined;
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
  /** Apps served over the Pusher Channels protocol (docs/pusher.md). Env `HERALD_PUSHER_APPS` (JSON array). */
  pusherApps?: PusherAppConfig[] | undefined;
  /** Largest HTTP request body in bytes (more: 413). Env `HERALD_MAX_BODY_BYTES`, default 1 MiB. */
  maxBodyBytes?: number;
  /** How long a presence entry outlives its process's last refresh, in ms. Env `HERALD_PRESENCE_TTL_MS`, default 25000. */
  presenceTtlMs?: number;
  /** How often this process announces itself to the cluster (`GET /api/nodes`), in ms; an announcement lasts 3 intervals. Env `HERALD_NODE_ANNOUNCE_MS`, default 5000. */
  nodeAnnounceMs?: number;
  /**
   * With Redis: how often the delivery canary is published on this process's private channel, in
   * ms; /readyz answers 503 once none has come back for 2 × this + 1000 ms. Env
   * `HERALD_CANARY_INTERVAL_MS`, default 2000.
   */
  canaryIntervalMs?: number;
  /** How often idle history channels are checked for publications lost by the broker, in ms (0: never). Env `HERALD_POSITION_CHECK_MS`, default 10000. */
  positionCheckMs?: number;
  /**
   * With Redis: how long a publish may wait for Redis to confirm it, in ms. Every publish is
   * answered by then; one that Redis has not confirmed is answered PUBLISH_OUTCOME_UNKNOWN. Env
   * `HERALD_PUBLISH_TIMEOUT_MS`, default 5000.
   */
  publishTimeoutMs?: number;

  // Users: online status, inboxes and webhooks (docs/users.md).
  /** Webhook endpoints: URL, secret, event types. Env `HERALD_WEBHOOKS` (JSON). */
  webhooks?: WebhookEndpoint[] | undefined;
  /** How long a user must stay offline before `user.offline`, in ms. Env `HERALD_WEBHOOK_OFFLINE_DELAY_MS`, default 5000. */
  webhookOfflineDelayMs?: number;
  /** How long a webhook event is retried before it is a dead letter, in ms. Env `HERALD_WEBHOOK_RETRY_FOR_MS`, default 3600000. */
  webhookRetryForMs?: number;
  /** Whether private messages are stored by default. Env `HERALD_INBOX_STORE`, default false. */
  inboxStore?: boolean;
  /** Unacknowledged messages kept per user. Env `HERALD_INBOX_MAX_MESSAGES`, default 1000. */
  inboxMaxMessages?: number;
  /** How long an unacknowledged message is kept, in ms. Env `HERALD_INBOX_MAX_AGE_MS`, default 7 days. */
  inboxMaxAgeMs?: number;
}

/** Settings only `herald serve` reads (from the same file, environment and schema). */
export interface ServeSettings {
  /** Whether the default app's demos are served (`--no-demos`). Env `HERALD_DEMOS`, default true. */
  demos: boolean;
  /** Server processes sharing the port; `auto` is one per CPU core. Env `HERALD_WORKERS`, default 1. */
  workers: number | 'auto';
}

type Schema = typeof configSchema.properties;
/** Options without a default in the schema: they stay undefined when not given. */
type OptionalKeys = { [K in keyof HeraldOptions]-?: Schema[K] extends { default: unknown } ? never : K }[keyof HeraldOptions];

export type ResolvedOptions = Required<Omit<HeraldOptions, OptionalKeys>> & Pick<HeraldOptions, OptionalKeys>;

// The schema and the option types must list the same settings: tsc stops here when one of them
// gains a setting the other lacks (config-schema.ts says how to add one).
type SameKeys<A, B> = [Exclude<A, B>, Exclude<B, A>] extends [never, never] ? true : { missing: Exclude<A, B> | Exclude<B, A> };
const schemaMatchesTypes: SameKeys<ConfigKey, keyof HeraldOptions | keyof ServeSettings> = true;
void schemaMatchesTypes;

/** The defaults of createHerald's options, from the schema. */
export const defaults = Object.fromEntries(
  Object.entries(schemaDefaults).filter(([key]) => !SERVE_ONLY.has(key)),
) as Omit<ResolvedOptions, OptionalKeys>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Checks `options` against the schema (messages name the option) and fills in the defaults. The
 * one way options become a server's: createHerald calls it, and the command line's settings from
 * file, environment and flags go through it too.
 */
export function resolveOptions(options: HeraldOptions = {}): ResolvedOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  checkSettings(given, (key) => key);
  const resolved = { ...defaults, ...given } as ResolvedOptions;
  if (resolved.httpHeadersTimeoutMs > resolved.httpRequestTimeoutMs) {
    throw new ConfigError(`httpHeadersTimeoutMs (${resolved.httpHeadersTimeoutMs}) must not be longer than httpRequestTimeoutMs (${resolved.httpRequestTimeoutMs})`);
  }
  checkAuthOptions(resolved);
  checkRedisOptions(resolved);
  checkTrustProxy(resolved.trustProxy);
  if (resolved.webhooks !== undefined) checkWebhookEndpoints(resolved.webhooks);
  return resolved;
}

/** Reads the options from environment variables (unset or empty variables keep the defaults). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): HeraldOptions {
  const values = settingsFromEnv(env);
  for (const key of SERVE_ONLY) delete values[key as ConfigKey];
  return values as HeraldOptions;
}

/** One way to reach Redis at most; a Sentinel setup needs its name; hash tags need a prefix without braces. */
function checkRedisOptions(o: ResolvedOptions): void {
  const ways = [o.redisUrl, o.redisClusterNodes, o.redisSentinels].filter((value) => value !== undefined).length;
  if (ways > 1) throw new ConfigError('Set only one of redisUrl (REDIS_URL), redisClusterNodes (REDIS_CLUSTER_NODES) and redisSentinels (REDIS_SENTINELS)');
  if (o.redisSentinels !== undefined && o.redisSentinelName === undefined) throw new ConfigError('redisSentinels (REDIS_SENTINELS) needs redisSentinelName (REDIS_SENTINEL_NAME)');
  if (o.redisSentinelName !== undefined && o.redisSentinels === undefined) throw new ConfigError('redisSentinelName (REDIS_SENTINEL_NAME) needs redisSentinels (REDIS_SENTINELS)');
  if (o.redisClusterNodes !== undefined && /[{}]/.test(o.redisPrefix)) {
    throw new ConfigError('redisPrefix (HERALD_REDIS_PREFIX) must not contain { or } on a Redis Cluster: Herald puts each channel in braces to keep its keys on one shard');
  }
}

const ASYMMETRIC_ALGORITHMS = new Set(['RS256', 'ES256']);

/** Checks the JWT settings; never echoes a secret or key in its messages. */
function checkAuthOptions(o: ResolvedOptions): void {
  const sources = [o.jwtSecret, o.jwtPublicKey, o.jwtJwksUrl].filter((value) => value !== undefined).length;
  if (sources > 1) throw new ConfigError('Set only one of jwtSecret, jwtPublicKey and jwtJwksUrl');
  if (o.adminClaim !== undefined && sources === 0) throw new ConfigError('adminClaim (HERALD_ADMIN_CLAIM) needs jwtSecret, jwtPublicKey or jwtJwksUrl to verify admin tokens');
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

function checkTrustProxy(trustProxy: string[] | undefined): void {
  if (trustProxy === undefined) return;
  for (const entry of trustProxy) {
    const [address = '', bits, ...rest] = String(entry).split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const bitsValid = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsValid || rest.length > 0) {
      throw new ConfigError(`trustProxy (HERALD_TRUST_PROXY): ${JSON.stringify(entry)} is not an IP address or CIDR like 127.0.0.1 or 10.0.0.0/8`);
    }
  }
}
