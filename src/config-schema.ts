/**
 * Every setting Herald reads, as one JSON Schema: the configuration file (herald.config.json) is
 * validated against it, environment variables and command-line options are read and checked
 * through it, `createHerald(options)` checks its options with it, and docs/config.md's tables are
 * generated from it (`npm run docs:config`; test/config-file.test.ts fails when they differ).
 *
 * Besides standard JSON Schema, each property carries annotations (registered with ajv in
 * config-validation.ts):
 * - `env`: the environment variable; `envFile: true` also accepts `<env>_FILE`, a path to a file
 *   holding the value (for secrets mounted by container platforms);
 * - `section`: which table of docs/config.md lists it;
 * - `expected`: how to say "a valid value" in an error, where the type and range do not say it;
 * - `secret: true`: error messages never repeat the value;
 * - `defaultText`: the default as docs/config.md shows it, when there is no `default` value.
 *
 * Adding a setting: one entry here (and the typed field in HeraldOptions, or ServeSettings for a
 * command-line-only one; tsc fails until both agree), then `npm run docs:config`.
 */
export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Herald configuration (herald.config.json)',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', section: 'none', description: 'Lets an editor find this schema.' },
    port: {
      type: 'integer', minimum: 0, maximum: 65535, default: 8000, env: 'PORT', section: 'server',
      description: 'TCP port for HTTP and WebSocket. `0` picks a free port.',
    },
    host: { type: 'string', minLength: 1, default: '0.0.0.0', env: 'HOST', section: 'server', description: 'Interface to listen on.' },
    redisUrl: {
      type: 'string', pattern: '^rediss?://', env: 'REDIS_URL', envFile: true, section: 'server', secret: true,
      expected: 'a redis:// or rediss:// URL', defaultText: 'unset',
      description: '`redis://[user:password@]host:port[/db]` or `rediss://…`. Unset: the embedded in-memory broker (one process).',
    },
    redisClusterNodes: {
      type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:,]+:\\d{1,5}$' }, env: 'REDIS_CLUSTER_NODES', section: 'server',
      expected: 'a list of host:port', defaultText: 'unset',
      description: 'Comma-separated `host:port` of some nodes of a Redis Cluster (7 or newer): Herald discovers the rest and uses sharded Pub/Sub. Instead of `REDIS_URL`. See [scaling.md](scaling.md#running-on-redis-cluster).',
    },
    redisSentinels: {
      type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:,]+:\\d{1,5}$' }, env: 'REDIS_SENTINELS', section: 'server',
      expected: 'a list of host:port', defaultText: 'unset',
      description: 'Comma-separated `host:port` of Redis Sentinels: Herald asks them for the primary of `REDIS_SENTINEL_NAME` and follows it across failovers. Instead of `REDIS_URL`. See [scaling.md](scaling.md#running-on-redis-sentinel).',
    },
    redisSentinelName: {
      type: 'string', minLength: 1, env: 'REDIS_SENTINEL_NAME', section: 'server', defaultText: 'unset',
      description: 'With `REDIS_SENTINELS`: the name of the monitored primary (`sentinel monitor <name> …`).',
    },
    redisPrefix: {
      type: 'string', default: 'herald:', env: 'HERALD_REDIS_PREFIX', section: 'server',
      description: 'Prefix of every Redis channel and key Herald uses: channel `news` is Redis channel `herald:news`. Give each Herald cluster sharing a Redis its own.',
    },
    apiKey: {
      type: 'string', minLength: 1, env: 'HERALD_API_KEY', envFile: true, section: 'server', secret: true, defaultText: 'unset',
      description: 'Bearer key for `/api/*`. Unset: `/api/*` answers only loopback clients, and a warning is logged at start.',
    },
    trustProxy: {
      type: 'array', items: { type: 'string' }, env: 'HERALD_TRUST_PROXY', section: 'server', defaultText: 'unset',
      description: 'Comma-separated addresses and CIDRs of your reverse proxies (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`). A request from one of them is taken to come from the rightmost `X-Forwarded-For` hop that is not a trusted proxy, for the loopback rule of `/api/*` and `/metrics`, connections per IP, logs and `socket.remoteAddress`. Unset: every request is from the address it came from and `X-Forwarded-For` is ignored. See [security.md](security.md#behind-a-reverse-proxy).',
    },
    demos: {
      type: 'boolean', default: true, env: 'HERALD_DEMOS', section: 'server',
      description: '`herald serve` only. `false` (or `--no-demos`) serves only the core: `/connect`, `/ws/{channel}`, the HTTP API, health and metrics; no demo pages or demo routes, no example task, no clock.',
    },
    workers: {
      anyOf: [{ type: 'integer', minimum: 1, maximum: 1024 }, { const: 'auto' }], default: 1, env: 'HERALD_WORKERS', section: 'server',
      expected: 'a whole number from 1 to 1024 or "auto"',
      description: '`herald serve` only. Server processes sharing the port (`auto`: one per CPU core). More than one needs `REDIS_URL`.',
    },
    maxFrameBytes: {
      type: 'integer', minimum: 1, maximum: 256 * 1024 * 1024, default: 64 * 1024, env: 'HERALD_MAX_FRAME_BYTES', section: 'server',
      description: 'Largest WebSocket frame a client may send; larger closes the socket with `1009`.',
    },
    maxBacklogBytes: {
      type: 'integer', minimum: 1024, maximum: 1024 * 1024 * 1024, default: 1024 * 1024, env: 'HERALD_MAX_BACKLOG_BYTES', section: 'server',
      description: 'Unsent bytes a socket may hold; past it the client is a slow consumer and is closed with `1013`.',
    },
    heartbeatMs: {
      type: 'integer', minimum: 100, maximum: 3_600_000, default: 25_000, env: 'HERALD_HEARTBEAT_MS', section: 'server',
      description: 'Ping interval. A client that has not answered a ping by the next one is dropped.',
    },
    handshakeTimeoutMs: {
      type: 'integer', minimum: 100, maximum: 600_000, default: 10_000, env: 'HERALD_HANDSHAKE_TIMEOUT_MS', section: 'server',
      description: 'How long a WebSocket handshake may wait for its route to be ready (token verified, subscriptions confirmed by the broker). Past it the handshake is answered `503` `HERALD_ERR_HANDSHAKE_TIMEOUT` (try again later) and everything the route set up is released.',
    },
    httpHeadersTimeoutMs: {
      type: 'integer', minimum: 100, maximum: 600_000, default: 10_000, env: 'HERALD_HTTP_HEADERS_TIMEOUT_MS', section: 'server',
      description: 'How long a client may take to send a request\'s headers (a WebSocket handshake\'s too); past it the request is answered `408` and the connection closed.',
    },
    httpRequestTimeoutMs: {
      type: 'integer', minimum: 100, maximum: 3_600_000, default: 30_000, env: 'HERALD_HTTP_REQUEST_TIMEOUT_MS', section: 'server',
      description: 'How long a client may take to send a whole HTTP request, body included (a body trickled without end is cut off here with `408`). At least the headers timeout. Open WebSockets are not affected.',
    },
    httpKeepAliveTimeoutMs: {
      type: 'integer', minimum: 100, maximum: 600_000, default: 5_000, env: 'HERALD_HTTP_KEEP_ALIVE_TIMEOUT_MS', section: 'server',
      description: 'How long an idle keep-alive HTTP connection is kept open between requests.',
    },
    shutdownTimeoutMs: {
      type: 'integer', minimum: 0, maximum: 600_000, default: 3_000, env: 'HERALD_SHUTDOWN_TIMEOUT_MS', section: 'server',
      description: 'How long shutdown takes at most. Sockets finish closing, running tasks and schedule handlers finish, all at the same time; sockets still open 500 ms before the end (a fifth of the timeout if that is less) are dropped, leaving that time to record their presence leaves and close Redis. Whatever still runs at the end is dropped (with Redis, a task or schedule tick dropped mid-run runs again on another process). Shutdown ends within it even while Redis is down or not answering.',
    },
    drainMs: {
      type: 'integer', minimum: 0, maximum: 600_000, default: 2_000, env: 'HERALD_DRAIN_MS', section: 'server',
      description: 'At shutdown, the time over which open sockets are closed (with `1001`), in batches, so that their clients do not all reconnect to the other processes at once; `/connect` clients are also told when to come back (a `disconnect` push with `reconnectAfterMs`). It is part of the shutdown timeout, not added to it: a value over 80% of the time sockets have (the shutdown timeout less its 500 ms reserve) is clamped to that. `0`: close every socket at once.',
    },
    taskWorkers: {
      type: 'integer', minimum: 0, maximum: 1000, default: 4, env: 'HERALD_TASK_WORKERS', section: 'server',
      description: 'Background tasks this process runs at once. With Redis, `0` makes a server leave running tasks to `herald worker` processes. See [tasks.md](tasks.md).',
    },
    taskStallMs: {
      type: 'integer', minimum: 500, maximum: 3_600_000, default: 30_000, env: 'HERALD_TASK_STALL_MS', section: 'server',
      description: "With Redis: a running task's lock time and the interval of the check for tasks whose worker died; such a task runs again elsewhere after one to two of these.",
    },
    scheduleStallMs: {
      type: 'integer', minimum: 500, maximum: 3_600_000, default: 30_000, env: 'HERALD_SCHEDULE_STALL_MS', section: 'server',
      description: "With Redis: a running schedule tick's lock time and the interval of the check for ticks whose process died; such a tick runs again on another process after one to two of these ([tasks.md](tasks.md#what-a-schedule-guarantees)).",
    },
    taskOutcomeCheckMs: {
      type: 'integer', minimum: 100, maximum: 3_600_000, default: 10_000, env: 'HERALD_TASK_OUTCOME_CHECK_MS', section: 'server',
      description: 'How often a process checks the stored status of each task it follows for a socket (started with `tasks.start(…, { subscribe })` or the `/connect` `task` op) or for `tasks.run` while the outcome has not arrived; a task that is over but whose outcome was never pushed (its worker died, or lost Redis, in between) gets the stored outcome published then. One status read per followed task per check.',
    },
    maxQueuedTasks: {
      type: 'integer', minimum: 1, maximum: 10_000_000, default: 1000, env: 'HERALD_MAX_QUEUED_TASKS', section: 'server',
      description: 'Tasks that may wait to run (queued, not yet running); one more is refused with `HERALD_ERR_TASK_QUEUE_FULL` (HTTP 503). With Redis the count is the BullMQ queue\'s waiting jobs across the cluster (checked before each add, so concurrent starts may pass it by a few).',
    },
    publishTimeoutMs: {
      type: 'integer', minimum: 10, maximum: 600_000, default: 5_000, env: 'HERALD_PUBLISH_TIMEOUT_MS', section: 'server',
      description: 'With Redis: how long a publish waits for Redis to confirm it, counted from when it is made. Every publish is answered by then: one Redis has not confirmed is answered `HERALD_ERR_PUBLISH_OUTCOME_UNKNOWN` (it may still be delivered; retry with the same `idempotencyKey`). Also the timeout of Herald\'s other Redis commands.',
    },
    canaryIntervalMs: {
      type: 'integer', minimum: 50, maximum: 600_000, default: 2_000, env: 'HERALD_CANARY_INTERVAL_MS', section: 'server',
      description: 'With Redis: how often each process publishes a canary on its own private channel and expects it back on its subscriber connection. `/readyz` answers 503 once no canary has come back for `2 × this + 1000` ms (5 s with the default), so a subscriber connection that looks open but delivers nothing takes the process out of rotation. The round trip is the `herald_canary_round_trip_seconds` histogram.',
    },
    logLevel: {
      type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', env: 'LOG_LEVEL', section: 'server',
      description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
    },
    presenceTtlMs: {
      type: 'integer', minimum: 300, maximum: 3_600_000, default: 25_000, env: 'HERALD_PRESENCE_TTL_MS', section: 'server',
      description: "With Redis: how long a presence entry outlives its process's last refresh (each process refreshes its entries every third of this). A process that dies without cleaning up drops out of presence within this time.",
    },
    nodeAnnounceMs: {
      type: 'integer', minimum: 100, maximum: 600_000, default: 5_000, env: 'HERALD_NODE_ANNOUNCE_MS', section: 'server',
      description: 'How often each server process announces itself (id, address, version, load) to the cluster, for `GET /api/nodes`. With Redis an announcement lasts three intervals, so a process that dies without cleaning up drops out of the list within three intervals; one that shuts down cleanly is removed at once.',
    },
    positionCheckMs: {
      type: 'integer', minimum: 0, maximum: 3_600_000, default: 10_000, env: 'HERALD_POSITION_CHECK_MS', section: 'server',
      description: 'With Redis: how often each process compares its quiet history channels with their history, to refill publications Redis Pub/Sub lost at the tail of a stream, or published in a new epoch after the history was lost (`0`: never; gaps followed by another publication are refilled at once regardless). A process keeps a channel\'s position only while it has subscribers of the channel, whatever this setting. The embedded broker never skips a publication, so it neither checks nor keeps positions.',
    },
    webhooks: {
      type: 'array', items: { type: 'object' }, env: 'HERALD_WEBHOOKS', envFile: true, section: 'users', secret: true, defaultText: 'unset (none)',
      expected: 'a JSON array of {"url", "secret", "events"}',
      description: 'JSON array of webhook endpoints: `[{"url": "https://app.example.com/herald", "secret": "<16+ characters>", "events": ["user.offline", "message.stored"]}]` (`"*"`: every event). Each gets signed JSON POSTs of the events it lists ([users.md](users.md#webhooks)).',
    },
    webhookOfflineDelayMs: {
      type: 'integer', minimum: 0, maximum: 86_400_000, default: 5_000, env: 'HERALD_WEBHOOK_OFFLINE_DELAY_MS', section: 'users',
      description: 'How long a user must stay offline before `user.offline` is sent; a reconnect within it sends neither `user.offline` nor a new `user.online`.',
    },
    webhookRetryForMs: {
      type: 'integer', minimum: 1_000, maximum: 7 * 86_400_000, default: 3_600_000, env: 'HERALD_WEBHOOK_RETRY_FOR_MS', section: 'users',
      description: 'How long an event is retried (1 s, 2 s, 4 s … at most 5 min apart), counted from when it happened; then it goes to the dead letters (`GET /api/webhooks/dead-letters`).',
    },
    inboxStore: {
      type: 'boolean', default: false, env: 'HERALD_INBOX_STORE', section: 'users',
      description: 'Whether a private message without `"store"` is kept in the recipient\'s inbox until acknowledged.',
    },
    inboxMaxMessages: {
      type: 'integer', minimum: 1, maximum: 100_000, default: 1_000, env: 'HERALD_INBOX_MAX_MESSAGES', section: 'users',
      description: 'Unacknowledged messages kept per user; a stored message beyond it is refused with `HERALD_ERR_INBOX_FULL` (neither stored nor sent).',
    },
    inboxMaxAgeMs: {
      type: 'integer', minimum: 1_000, maximum: 365 * 86_400_000, default: 7 * 86_400_000, env: 'HERALD_INBOX_MAX_AGE_MS', section: 'users',
      description: 'How long an unacknowledged message is kept (default 7 days); older ones are dropped.',
    },
    jwtSecret: {
      type: 'string', env: 'HERALD_JWT_SECRET', envFile: true, section: 'security', secret: true, defaultText: 'unset',
      description: 'HS256 secret (32+ characters). Turns JWT authentication on. Set at most one of the three JWT key settings.',
    },
    jwtPublicKey: {
      type: 'string', env: 'HERALD_JWT_PUBLIC_KEY', envFile: true, escapedNewlines: true, section: 'security', secret: true, defaultText: 'unset',
      description: 'PEM public key: RSA for RS256, P-256 EC for ES256 (in the variable, `\\n` may stand for newlines). Turns JWT authentication on.',
    },
    jwtJwksUrl: {
      type: 'string', pattern: '^https?://', env: 'HERALD_JWT_JWKS_URL', section: 'security', expected: 'an http(s) URL', defaultText: 'unset',
      description: '`http(s)://` URL of a JSON Web Key Set (RS256/ES256, keys by `kid`). Turns JWT authentication on.',
    },
    jwtAlgorithms: {
      type: 'array', items: { type: 'string' }, env: 'HERALD_JWT_ALGORITHMS', section: 'security', defaultText: 'all that fit the key',
      description: 'Accepted `alg` values (comma-separated in the variable): `HS256` with a secret, `RS256`/`ES256` with a key or JWKS.',
    },
    jwtIssuer: { type: 'string', env: 'HERALD_JWT_ISSUER', section: 'security', defaultText: 'unset', description: 'Required `iss` claim.' },
    jwtAudience: { type: 'string', env: 'HERALD_JWT_AUDIENCE', section: 'security', defaultText: 'unset', description: 'Required `aud` claim.' },
    adminClaim: {
      type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_:.-]{0,99}$', env: 'HERALD_ADMIN_CLAIM', section: 'security', expected: 'a claim name', defaultText: 'unset',
      description: 'Name of a JWT claim that makes a token an admin token when its value is `true`: such a token is accepted wherever the API key is (`/api/*`, `/metrics`, the admin page and its commands). Needs one of the JWT key settings. Unset: only the API key opens the admin commands.',
    },
    allowAnonymous: {
      type: 'boolean', default: false, env: 'HERALD_ALLOW_ANONYMOUS', section: 'security',
      description: 'With JWT on: let sockets without a token in as anonymous (a bad token is still refused). Without JWT every socket is anonymous.',
    },
    allowedOrigins: {
      type: 'array', items: { type: 'string' }, env: 'HERALD_ALLOWED_ORIGINS', section: 'security', defaultText: 'unset (any)',
      description: 'Browser origins allowed to open sockets (comma-separated in the variable: `https://app.example.com`, `https://*.example.com`); others get HTTP 403.',
    },
    namespaces: {
      type: 'object', env: 'HERALD_NAMESPACES', section: 'security', defaultText: 'unset',
      description: 'JSON channel permissions per namespace, e.g. `{"staff": {"subscribe": "authenticated", "publish": false}}`; fields `subscribe`, `publish`, `readHistory`, `readPresence`, `sender` ([security.md](security.md#channel-permissions)). These win over the app\'s own settings.',
    },
    demoToken: {
      type: 'string', env: 'HERALD_DEMO_TOKEN', section: 'security', secret: true, defaultText: 'unset',
      description: 'The `token` cookie the secured echo (`/echo/secure`) expects; unset, that route refuses everyone.',
    },
    maxMessagesPerSecond: {
      type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 1000, env: 'HERALD_MAX_MESSAGES_PER_SECOND', section: 'security',
      description: 'Text frames per second per socket; over it each frame gets an error frame, at twice it the socket is closed with `1008`. `0`: no limit.',
    },
    maxSubscriptionsPerConnection: {
      type: 'integer', minimum: 1, maximum: 1_000_000, default: 128, env: 'HERALD_MAX_SUBSCRIPTIONS', section: 'security',
      description: 'Channels one socket may be subscribed to at once. The private-message channel Herald subscribes a signed-in `/connect` connection to is not counted: a limit of 3 leaves every client 3.',
    },
    maxConnectionsPerIp: {
      type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 10_000, env: 'HERALD_MAX_CONNECTIONS_PER_IP', section: 'security',
      description: 'Open sockets per client IP; more are refused at the handshake with HTTP 429. `0`: no limit (use behind a proxy, or for load tests).',
    },
    pusherApps: {
      type: 'array', env: 'HERALD_PUSHER_APPS', envFile: true, section: 'security', secret: true, expected: 'a JSON array of apps, each {"id", "key", "secret", …}', defaultText: 'unset (no /app route)',
      items: {
        type: 'object', additionalProperties: false, required: ['id', 'key', 'secret'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,24}$' },
          key: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$' },
          secret: { type: 'string', minLength: 8 },
          clientEvents: { type: 'boolean' },
          limits: {
            type: 'object', additionalProperties: false,
            properties: {
              maxConnections: { type: 'integer', minimum: 0 },
              clientEventsPerSecond: { type: 'integer', minimum: 1 },
              maxPresenceMembers: { type: 'integer', minimum: 1 },
              maxEventBytes: { type: 'integer', minimum: 1 },
              maxBatchEvents: { type: 'integer', minimum: 1 },
            },
          },
          webhooks: {
            type: 'array',
            items: {
              type: 'object', additionalProperties: false, required: ['url'],
              properties: {
                url: { type: 'string', pattern: '^https?://\\S+$' },
                events: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'] } },
              },
            },
          },
        },
      },
      description: 'Apps served over the Pusher Channels protocol (`/app/{key}` and `/apps/{id}/…`), as a JSON array: `[{"id": "1", "key": "app-key", "secret": "app-secret", "clientEvents": true, "limits": {…}}]`. `id`: 1-24 letters, digits, `_` or `-`; `limits`: `maxConnections` per process (`0`: none, the default), `clientEventsPerSecond` per socket (10), `maxPresenceMembers` per channel (100), `maxEventBytes` of one event\'s data (10240), `maxBatchEvents` per batch call (10); `webhooks`: `[{"url": "https://app.example.com/pusher/webhook", "events": ["channel_occupied", "member_added", …]}]` (`events` omitted: all five), sent as Pusher sends them. See [pusher.md](pusher.md).',
    },
    maxBodyBytes: {
      type: 'integer', minimum: 1, maximum: 1024 * 1024 * 1024, default: 1024 * 1024, env: 'HERALD_MAX_BODY_BYTES', section: 'security',
      description: 'Largest HTTP request body; larger gets 413.',
    },
  },
} as const;

export type ConfigKey = Exclude<keyof typeof configSchema.properties, '$schema'>;

/** What the schema says about one setting (the union of the annotations used above). */
export interface SettingSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  enum?: readonly string[];
  anyOf?: readonly unknown[];
  default?: unknown;
  env?: string;
  envFile?: boolean;
  escapedNewlines?: boolean;
  section?: string;
  expected?: string;
  secret?: boolean;
  defaultText?: string;
  /** For arrays: what one item is (an array of objects is JSON in its variable). */
  items?: { type?: string };
  description: string;
}

export const settings = configSchema.properties as unknown as Record<ConfigKey, SettingSchema>;

/** The settings in the schema's order, without `$schema`. */
export const settingKeys = Object.keys(configSchema.properties).filter((key) => key !== '$schema') as ConfigKey[];

/** The schema's defaults, by key. */
export const schemaDefaults = Object.fromEntries(
  settingKeys.filter((key) => settings[key].default !== undefined).map((key) => [key, settings[key].default]),
) as Partial<Record<ConfigKey, unknown>>;
