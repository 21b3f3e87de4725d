import cluster from 'node:cluster';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { NodeRegistry } from './cluster/node-registry.ts';
import { NodeSampler } from './cluster/node-sampler.ts';
import { ChannelPermissions } from './auth/channel-permissions.ts';
import { ConnectionAuthenticator } from './auth/connection-authenticator.ts';
import { originGuard } from './auth/origin-check.ts';
import { TokenVerifier } from './auth/token-verifier.ts';
import type { Broker, PublishResult } from './broker/broker.ts';
import { DeliveryCanary } from './broker/delivery-canary.ts';
import { AdminCommands } from './cluster/admin-commands.ts';
import { Namespaces, type NamespaceOptions } from './channels/namespace.ts';
import { Publisher } from './channels/publisher.ts';
import { SubscriberRegistry } from './channels/subscriber-registry.ts';
import { ConfigError, resolveOptions, type HeraldOptions, type ResolvedOptions } from './config.ts';
import { settlesBefore } from './deadline.ts';
import type { Engine } from './engine/engine.ts';
import { engineFromOptions } from './engine/engine-from-options.ts';
import { InFlight } from './in-flight.ts';
import { ApiAccess } from './http/api-access.ts';
import { AdminTokens } from './auth/admin-tokens.ts';
import { installErrorReplies } from './http/error-replies.ts';
import { healthRoutes } from './http/health-routes.ts';
import { logSerializers } from './http/log-redaction.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { nodesRoute } from './http/nodes-route.ts';
import { adminChannelRoutes, adminRoutes, type ChannelSearch } from './http/admin-routes.ts';
import { operatorMetrics } from './http/operator-metrics.ts';
import { collectOpenApi, openApiRoute } from './http/openapi.ts';
import { packageVersion } from './package-version.ts';
import { publishRoute } from './http/publish-route.ts';
import { statsSchema } from './http/reply-schemas.ts';
import { RequestIdentifier, type RequestIdentity } from './http/request-identity.ts';
import { GapRepair } from './history/gap-repair.ts';
import type { Presence } from './presence/presence.ts';
import { connectRoute } from './protocol/connect-route.ts';
import { PUSHER_NAMESPACE, PusherServer } from './pusher/pusher-server.ts';
import { taskRoutes } from './http/task-routes.ts';
import { ScheduleRegistry, type ScheduleHandler } from './schedules/schedule-registry.ts';
import type { ScheduleTiming } from './schedules/schedule-timing.ts';
import type { TickDispatcher } from './schedules/tick-dispatcher.ts';
import { TaskOutcomeWatch } from './tasks/outcome-watch.ts';
import { isTaskOutcome, OUTCOME_IDEMPOTENCY_KEY, taskChannel, taskNamespaceOptions, type TaskEvent } from './tasks/task-channel.ts';
import { TaskRegistry, type TaskHandler, type TaskOptions } from './tasks/task-registry.ts';
import type { TaskRunner } from './tasks/task-runner.ts';
import { Tasks } from './tasks/tasks.ts';
import { Refusals } from './transport/refusals.ts';
import { EventLoopDelay } from './shared/event-loop-delay.ts';
import type { PrivateMessages } from './users/private-messages.ts';
import { createUserFeatures, type UserFeatures } from './users/user-features.ts';
import { userRoutes } from './http/user-routes.ts';
import { withTaskWebhooks } from './webhooks/task-events.ts';
import type { Webhooks } from './webhooks/webhooks.ts';
import { clientAddressOf, trustedProxyTest } from './transport/client-address.ts';
import { SocketServer, type SocketHandler, type SocketRouteOptions } from './transport/socket-server.ts';

export interface HeraldAddress {
  port: number;
  host: string;
  /** `http://host:port`, for HTTP calls; replace `http` with `ws` for sockets. */
  url: string;
}

/**
 * A Herald server: socket routes, channels, and the HTTP API, over one broker.
 *
 * @example
 * const herald = createHerald({ port: 8000 });
 * herald.socket('/echo', (socket) => {
 *   socket.onMessage((text) => socket.send(`Message text was: ${text}`));
 * });
 * herald.socket('/ws/:channel', async (socket) => {
 *   await socket.subscribe(socket.params.channel!);
 *   socket.onMessage((text) => socket.publish(socket.params.channel!, text));
 * });
 * await herald.listen();
 * await herald.publish('news', { headline: 'Herald is up' });
 */
export class Herald {
  /** The fastify instance, for adding HTTP routes of your own. */
  readonly http: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly options: ResolvedOptions;
  /**
   * Where everything shared between processes lives: broker and history, presence, node directory,
   * tasks and schedule ticks (engine/engine.ts). `engine.redis` is the Redis command client for
   * features that keep state of their own there (undefined in memory).
   */
  readonly engine: Engine;
  readonly broker: Broker;
  /** Who is subscribed to presence channels, across processes. */
  readonly presence: Presence;
  /** Undefined with the embedded broker: it hands over every publication in order, in the same call, so there is never a gap to repair. */
  readonly #gapRepair: GapRepair | undefined;
  /** With Redis: proves Pub/Sub delivers, for /readyz (broker/delivery-canary.ts). */
  readonly #canary: DeliveryCanary | undefined;
  /** Cluster-wide admin commands on the reserved channel `#admin` (cluster/admin-commands.ts). */
  readonly #adminCommands: AdminCommands;
  /** The one event-loop delay monitor, read by /metrics and by this node's announcements. */
  readonly #loopDelay = new EventLoopDelay();
  /**
   * The channel permission check every client-requested subscribe, publish, history or presence
   * read goes through (auth/channel-permissions.ts).
   */
  readonly permissions: ChannelPermissions;
  readonly #authenticator: ConnectionAuthenticator;
  readonly #requestIdentifier: RequestIdentifier;
  readonly #refusals: Refusals;
  /** Start tasks and read their status; see {@link Herald.task} and docs/tasks.md. */
  readonly tasks: Tasks;
  readonly #taskRegistry = new TaskRegistry();
  readonly #taskRunner: TaskRunner;
  readonly #schedules: ScheduleRegistry;
  #ticks: TickDispatcher | undefined;
  /** Presence leaves of closing /connect sockets, written before shutdown closes Redis. */
  readonly #leaves = new InFlight();
  readonly #registry: SubscriberRegistry;
  readonly #namespaces = new Namespaces();
  readonly #publisher: Publisher;
  readonly #sockets: SocketServer;
  /** This process in the cluster's node list (`GET /api/nodes`). */
  readonly #nodes: NodeRegistry;
  /** The Pusher Channels protocol, when apps are configured (pusher/pusher-server.ts); webhook delivery subscribes to its onEvent. */
  readonly #pusher: PusherServer | undefined;
  /** Online status, inboxes and webhooks (users/user-features.ts, docs/users.md). */
  readonly #users: UserFeatures;
  /** Signed webhooks to the app's backend; `emit` sends an event of your own (docs/users.md). */
  readonly webhooks: Webhooks;
  /** Private messages to users, live and stored (docs/users.md). */
  readonly messages: PrivateMessages;
  #shuttingDown = false;
  #closed: Promise<void> | undefined;
  /** Publications of client channels the broker handed this process (interest routing shows in it). */
  #received = 0;

  constructor({ engine, ...options }: HeraldOptions & { engine?: Engine } = {}) {
    this.options = resolveOptions(options);
    const o = this.options;
    const trustedProxy = trustedProxyTest(o.trustProxy);
    this.http = Fastify({
      // request.ip: the forwarded client behind a trusted proxy, the peer otherwise.
      trustProxy: trustedProxy ?? false,
      // No secret in a log line: the request serializer drops headers and masks ?token= and the like.
      logger: {
        level: o.logLevel,
        serializers: logSerializers,
        redact: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'],
      },
      bodyLimit: o.maxBodyBytes,
      // A number where a string belongs is a client bug to report, not to paper over; and no
      // field is silently dropped.
      ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
      // Idle keep-alive connections are closed at shutdown, but a request already on its way is
      // answered: destroying it too reset connections the process had accepted a moment before it
      // stopped listening (a rolling restart's clients saw ECONNRESET). What is still open at the
      // deadline is dropped by close().
      forceCloseConnections: 'idle',
      // The same for a connection the cluster primary hands over just as this process starts
      // closing: Fastify would answer its request 503, which a rolling restart's health checks
      // saw. /readyz still says 503 while shutting down, so load balancers stop sending.
      return503OnClosing: false,
      // A realtime server has no slow uploads: a client that has not sent its headers, or its whole
      // request, within a few seconds is holding a connection open, not sending a request. Node
      // checks these every connectionsCheckingInterval, so the interval is kept well under them.
      // Upgraded sockets leave Node's HTTP bookkeeping at the upgrade, so open WebSockets are
      // never timed out by these.
      requestTimeout: o.httpRequestTimeoutMs,
      keepAliveTimeout: o.httpKeepAliveTimeoutMs,
      http: {
        headersTimeout: o.httpHeadersTimeoutMs,
        requestTimeout: o.httpRequestTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(o.httpHeadersTimeoutMs / 4))),
      },
    });
    this.log = this.http.log;
    this.#refusals = new Refusals(this.log);
    for (const [name, rules] of Object.entries(o.namespaces ?? {})) this.#namespaces.define(name, rules);
    this.permissions = new ChannelPermissions(this.#namespaces, this.#refusals);
    const verifier =
      o.jwtSecret !== undefined || o.jwtPublicKey !== undefined || o.jwtJwksUrl !== undefined
        ? new TokenVerifier({
            secret: o.jwtSecret,
            publicKey: o.jwtPublicKey,
            jwksUrl: o.jwtJwksUrl,
            algorithms: o.jwtAlgorithms,
            issuer: o.jwtIssuer,
            audience: o.jwtAudience,
          })
        : undefined;
    this.#authenticator = new ConnectionAuthenticator(verifier, o.allowAnonymous, this.#refusals);
    this.#requestIdentifier = new RequestIdentifier(o.apiKey, verifier);
    this.engine = engine ?? engineFromOptions(o);
    this.broker = this.engine.broker;
    this.presence = this.engine.presence;
    this.#nodes = new NodeRegistry({ directory: this.engine.nodes, intervalMs: o.nodeAnnounceMs, log: this.log });
    this.#registry = new SubscriberRegistry(this.broker);
    this.#gapRepair = this.broker.kind === 'memory' ? undefined : new GapRepair(this.broker.history, this.#registry, this.log, o.positionCheckMs);
    this.#publisher = new Publisher(this.broker, this.#namespaces);
    this.#sockets = new SocketServer({
      context: {
        registry: this.#registry,
        publisher: this.#publisher,
        log: this.log,
        maxBacklogBytes: o.maxBacklogBytes,
        maxMessagesPerSecond: o.maxMessagesPerSecond,
        maxSubscriptions: o.maxSubscriptionsPerConnection,
        refusals: this.#refusals,
        tokens: this.#authenticator,
      },
      maxPayloadBytes: o.maxFrameBytes,
      heartbeatMs: o.heartbeatMs,
      authenticator: this.#authenticator,
      maxConnectionsPerIp: o.maxConnectionsPerIp,
      clientAddress: clientAddressOf(trustedProxy),
      handshakeTimeoutMs: o.handshakeTimeoutMs,
    });
    if (o.allowedOrigins !== undefined) this.#sockets.guard(originGuard(o.allowedOrigins));
    const publishTaskEvent = async (event: TaskEvent): Promise<void> => {
      // Every publication of an outcome carries one key, so the channel keeps the first only.
      const idempotencyKey = isTaskOutcome(event) ? OUTCOME_IDEMPOTENCY_KEY : undefined;
      await this.#publisher.publish(taskChannel(event.id), event, undefined, { idempotencyKey });
    };
    const announceTaskEvent = withTaskWebhooks(publishTaskEvent, () => this.webhooks);
    this.#taskRunner = this.engine.taskRunner({ registry: this.#taskRegistry, publish: announceTaskEvent, log: this.log, stallMs: o.taskStallMs, maxQueued: o.maxQueuedTasks });
    const outcomeWatch = new TaskOutcomeWatch({
      subscribers: this.#registry,
      history: this.broker.history,
      status: (id) => this.#taskRunner.status(id),
      publishOutcome: publishTaskEvent,
      checkMs: o.taskOutcomeCheckMs,
      log: this.log,
    });
    this.tasks = new Tasks(this.#taskRegistry, this.#taskRunner, outcomeWatch);
    this.#users = createUserFeatures({ options: o, redis: this.engine.redis, publisher: this.#publisher, registry: this.#registry, taskRegistry: this.#taskRegistry, tasks: this.tasks, process: this.#sockets.idPrefix, writes: this.#leaves, log: this.log });
    this.webhooks = this.#users.webhooks;
    this.messages = this.#users.messages;
    this.#sockets.route(
      '/connect',
      connectRoute({ broker: this.broker, publisher: this.#publisher, namespaces: this.#namespaces, presence: this.presence, permissions: this.permissions, tasks: this.tasks, leaves: this.#leaves, activity: this.#users.activity, messages: this.messages, log: this.log }),
    );
    this.#namespaces.define('task', taskNamespaceOptions);
    if (o.pusherApps !== undefined && o.pusherApps.length > 0) {
      this.namespace('pusher', PUSHER_NAMESPACE);
      const occupiedChannels = async (prefix: string) => (await this.#occupiedChannels(prefix, 10_000)).map(([channel]) => channel);
      const deps = { publisher: this.#publisher, presence: this.presence, leaves: this.#leaves, log: this.log, occupiedChannels, webhooks: this.webhooks, onChannelOccupancy: this.#users.onChannelOccupancy };
      this.#pusher = new PusherServer({ ...deps, apps: o.pusherApps, http: this.http, socketRoute: (path, handler) => this.#sockets.route(path, handler, { authentication: 'none' }) });
    }
    // Who may read and watch a user's online status: the rules of `status:<user>` (docs/users.md).
    this.namespace('status', { subscribe: 'authenticated', publish: false, history: false });
    this.#schedules = new ScheduleRegistry(this.log);
    installErrorReplies(this.http);
    collectOpenApi(this.http);
    healthRoutes(this.http, this.broker, () => this.#shuttingDown, () => this.#canary?.state());
    const access = new ApiAccess(o.apiKey, trustedProxy !== undefined, verifier !== undefined && o.adminClaim !== undefined ? new AdminTokens(verifier, o.adminClaim) : undefined);
    const apiAccess = access.hook;
    const metrics = metricsRoute(this.http, {
      connections: () => this.#sockets.connections.size,
      channels: () => this.#registry.channelCount,
      published: () => this.#publisher.published,
      delivered: () => this.#registry.delivered,
      received: () => this.#received,
      brokerReady: () => this.broker.health().ready,
      refusals: () => this.#refusals.counts,
    }, apiAccess);
    const operator = operatorMetrics(metrics, {
      publishedByNamespace: () => this.#publisher.publishedByNamespace,
      subscriptionsByNamespace: () => this.#registry.countsBy((channel) => this.#namespaces.metricLabel(channel)),
      taskDepth: () => this.#taskRunner.depth(),
      taskFailures: () => this.#taskRunner.failures,
    }, this.#loopDelay);
    this.#publisher.onPublishDuration = operator.observePublish;
    // The embedded broker delivers synchronously within this process: there is nothing to prove.
    this.#canary = this.broker.kind !== 'memory' ? new DeliveryCanary(this.broker, { intervalMs: o.canaryIntervalMs, metrics }) : undefined;
    this.#adminCommands = new AdminCommands({
      broker: this.broker,
      node: this.#sockets.idPrefix,
      connections: () => this.#sockets.connections,
      localSubscribers: (channel) => this.#registry.count(channel),
    });
    this.http.register(
      async (api) => {
        api.addHook('onRequest', apiAccess);
        publishRoute(api, this.#publisher);
        taskRoutes(api, this.tasks);
        userRoutes(api, this.#users);
        nodesRoute(api, this.#nodes, this.#sockets.idPrefix);
        adminRoutes(api, this.#adminCommands, access);
        adminChannelRoutes(api, { find: (prefix, limit) => this.#findChannels(prefix, limit), presence: this.presence, history: this.broker.history }, access);
        api.get('/stats', { schema: statsSchema }, async () => this.stats());
        openApiRoute(api, this.http);
      },
      { prefix: '/api' },
    );
  }

  /**
   * Adds a WebSocket route. `path` may have parameters (`/ws/:channel`) and regular-expression
   * constraints (`/ws/:user_id(^\\d+$)`); static paths win over parametric ones. The connection is
   * authenticated before `handler` runs (see `options.authentication` and docs/security.md).
   */
  socket(path: string, handler: SocketHandler, options?: SocketRouteOptions): this {
    this.#sockets.route(path, handler, options);
    return this;
  }

  /** Whether JWT authentication is configured (a secret, public key or JWKS URL). */
  get authenticationConfigured(): boolean {
    return this.#authenticator.enabled;
  }

  /**
   * Who sent an HTTP request to a route of your own (`herald.http`): `{ kind: 'open' }` when neither
   * a JWT key nor an API key is configured; otherwise `{ kind: 'api-key' }` for the API key or
   * `{ kind: 'user', user }` for a valid JWT, both in `Authorization: Bearer`. Rejects with a
   * HeraldError (thrown from a route: 401 JSON, or 503 when tokens cannot be checked right now).
   *
   * @example
   * herald.http.post('/notes', async (request) => {
   *   const identity = await herald.identifyRequest(request);
   *   if (identity.kind === 'user') … // act as identity.user only
   * });
   */
  identifyRequest(request: FastifyRequest): Promise<RequestIdentity> {
    return this.#requestIdentifier.identify(request);
  }

  /**
   * Sets the options of every channel named `<name>:...` (`''`: channels without a colon),
   * including its permissions.
   *
   * @example
   * herald.namespace('user', { subscribe: 'owner', publish: false });
   * herald.namespace('vip', { subscribe: { claim: 'channels' } });
   */
  namespace(name: string, options: NamespaceOptions): this {
    // Rules from configuration (HERALD_NAMESPACES) win over an app's defaults for the same field.
    this.#namespaces.define(name, { ...options, ...this.options.namespaces?.[name] });
    return this;
  }

  /**
   * Publishes `data` to `channel` on every process; resolves once the broker has it (with the
   * publication's offset and epoch when the channel keeps history). Rejects within
   * `publishTimeoutMs`: BROKER_UNAVAILABLE when nothing was published, PUBLISH_OUTCOME_UNKNOWN when
   * Redis did not confirm it (it may still be delivered: retry with the same `idempotencyKey`).
   *
   * @example
   * await herald.publish('news', { headline: 'Herald is up' }, { idempotencyKey: 'headline-1' });
   */
  publish(channel: string, data: unknown, options: { idempotencyKey?: string } = {}): Promise<PublishResult> {
    return this.#publisher.publish(channel, data, undefined, { idempotencyKey: options.idempotencyKey });
  }

  /**
   * Registers a task handler under `name`. Every process that may run tasks (servers, and
   * `npm run worker` processes) must register the same tasks. Start one with
   * `herald.tasks.start(name, args)`, `herald.tasks.run(name, args)` or `POST /api/tasks`.
   *
   * @example
   * herald.task('report', async ({ month }: { month: string }, ctx) => {
   *   await ctx.progress(50);
   *   return { month, total: 42 };
   * }, { timeoutMs: 60_000 });
   * const { id } = await herald.tasks.start('report', { month: '2026-11' });
   * // progress and the outcome are published to channel `task:${id}`
   */
  task<Args = any, Result = unknown>(name: string, handler: TaskHandler<Args, Result>, options?: TaskOptions): this {
    this.#taskRegistry.define(name, handler as TaskHandler, options);
    return this;
  }

  /**
   * Runs `handler` on every tick of a cron pattern (six fields, seconds first) or a fixed interval.
   * With Redis, each tick is a durable job that one process of the cluster runs, never two at once;
   * if that process dies mid-handler, another runs the tick again from the start (so side effects
   * may repeat: key them by `tick.time`). Without Redis, every tick runs on this process. Schedules
   * run while the server listens. The exact guarantee: docs/tasks.md, "What a schedule guarantees".
   *
   * @example
   * herald.schedule('clock', { cron: '*\/5 * * * * *' }, (tick) =>
   *   herald.publish('ws_example_channel', `The time is ${tick.time.toISOString()}`));
   * herald.schedule('heartbeat', { everyMs: 60_000 }, () => herald.publish('status', 'alive'));
   */
  schedule(name: string, timing: ScheduleTiming, handler: ScheduleHandler): this {
    this.#schedules.define(name, timing, handler);
    return this;
  }

  /** Counts for monitoring and tests: open sockets and channels with local subscribers. */
  stats(): { connections: number; channels: number; broker: string; refusals: Record<string, number> } {
    return {
      connections: this.#sockets.connections.size,
      channels: this.#registry.channelCount,
      broker: this.broker.kind,
      refusals: { ...this.#refusals.counts },
    };
  }

  /**
   * Channels whose name starts with `prefix`, each with the processes subscribed to it: with Redis
   * every channel some process subscribes to (`PUBSUB CHANNELS`, `PUBSUB NUMSUB`: one subscriber
   * connection per process), otherwise this process's. Server-internal `#` channels are left out.
   */
  async #occupiedChannels(prefix: string, limit: number): Promise<[string, number][]> {
    return (
      (await this.engine.findChannels(prefix, limit)) ??
      [...this.#registry.channels()].filter((name) => name.startsWith(prefix) && !name.startsWith('#')).sort().slice(0, limit).map((name): [string, number] => [name, 1])
    );
  }

  /**
   * The admin search: the occupied channels whose name starts with `prefix`, with their
   * subscribers counted by every live process (cluster/admin-commands.ts).
   */
  async #findChannels(prefix: string, limit: number): Promise<ChannelSearch> {
    const found = await this.#occupiedChannels(prefix, limit);
    const live = (await this.#nodes.list()).length;
    const cluster = await this.#adminCommands.countSubscribers(found.map(([channel]) => channel), Math.max(1, live), SUBSCRIBER_COUNT_WAIT_MS);
    return {
      channels: found.map(([channel, processes], index) => ({ channel, processes, subscribers: cluster.counts[index]!, localSubscribers: this.#registry.count(channel) })),
      nodes: { answered: cluster.answered, expected: cluster.expected },
    };
  }

  async listen(): Promise<HeraldAddress> {
    const gapRepair = this.#gapRepair?.dispatch ?? this.#registry.dispatch;
    const dispatch = this.#adminCommands.sink((publication) => {
      this.#received++;
      gapRepair(publication);
    });
    await this.broker.start(this.#canary?.sink(dispatch) ?? dispatch);
    await this.#canary?.start();
    await this.#adminCommands.start();
    await this.#taskRunner.start();
    // Without Redis there is no worker process to leave tasks to: always run them here.
    const workers = this.#taskRunner.kind === 'in-process' ? Math.max(1, this.options.taskWorkers) : this.options.taskWorkers;
    await this.#taskRunner.startWorkers(workers);
    await this.#startSchedules();
    if (this.options.apiKey === undefined) {
      this.log.warn('HERALD_API_KEY is not set: /api/* answers only clients on this machine');
    }
    this.#sockets.attach(this.http.server);
    await this.http.listen({ port: this.options.port, host: this.options.host });
    const address = this.http.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    await this.#nodes.start(
      new NodeSampler(
        { id: this.#sockets.idPrefix, port, version: packageVersion(), broker: this.broker.kind },
        {
          connections: () => this.#sockets.connections.size,
          channels: () => this.#registry.channelCount,
          published: () => this.#publisher.published,
          delivered: () => this.#registry.delivered,
        },
        this.#loopDelay.window(),
      ),
    );
    return { port, host, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
  }

  /**
   * Runs this process as a task worker only: connects to Redis and runs queued tasks (at most
   * `taskWorkers` at a time), without HTTP, sockets or schedules. What `npm run worker` does.
   */
  async work(): Promise<void> {
    if (this.#taskRunner.kind !== 'bullmq') throw new ConfigError('a worker process needs REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS): without Redis, tasks run inside the server');
    if (this.options.taskWorkers < 1) throw new ConfigError('a worker process needs HERALD_TASK_WORKERS of at least 1');
    await this.broker.start(this.#registry.dispatch);
    await this.#taskRunner.start();
    await this.#taskRunner.startWorkers(this.options.taskWorkers);
  }

  async #startSchedules(): Promise<void> {
    if (this.#schedules.size === 0) return;
    const o = this.options;
    this.#ticks = this.engine.tickDispatcher({ run: this.#schedules.run, log: this.log, stallMs: o.scheduleStallMs });
    await this.#schedules.start(this.#ticks);
  }

  /**
   * Shuts down within `shutdownTimeoutMs`, even while Redis is down or paused: turns /readyz to 503,
   * stops schedules and accepting; then, at the same time, closes every socket with 1001 in batches
   * spread over `drainMs` (transport/socket-server.ts), lets running tasks and
   * schedule handlers finish, and writes the presence leaves of the closed sockets; then releases
   * Redis. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#shuttingDown = true;
      this.#canary?.stop();
      this.#loopDelay.close();
      // One deadline for everything, shared rather than split in turns, so that a client that never
      // completes the closing handshake cannot use up the time of a running task or handler.
      const deadline = Date.now() + this.options.shutdownTimeoutMs;
      // Sockets still open shortly before the deadline are dropped, leaving that reserve to write
      // their presence leaves and say goodbye to Redis.
      const socketsDeadline = deadline - Math.min(SHUTDOWN_RESERVE_MS, this.options.shutdownTimeoutMs / 5);
      this.#schedules.stop();
      // Under `serve --workers` the primary hands new connections to its server processes in turn:
      // one that drains stops listening at once, so that they go to the others, not to its 503s.
      if (cluster.isWorker) this.http.server.close();
      const socketsClosed = this.#sockets.close(Math.max(0, socketsDeadline - Date.now()), this.options.drainMs);
      await Promise.all([
        // First in line, so other processes stop listing this one as soon as it begins to leave.
        this.#nodes.close(deadline),
        socketsClosed
          .then(() => settlesBefore(this.http.close(), deadline))
          .then((closed) => {
            if (!closed) this.http.server.closeAllConnections();
          }),
        // The queue stays open for the offline checks of the users whose sockets close now.
        this.#taskRunner.close(Math.max(0, deadline - Date.now()), { queueUntil: socketsClosed.then(() => this.#leaves.settled(deadline)) }),
        this.#schedules.drain(deadline),
        this.#ticks?.close(deadline),
      ]);
      this.#gapRepair?.close();
      await this.#leaves.settled(deadline);
      await this.#users.close();
      await this.engine.close(deadline);
    })();
    return this.#closed;
  }
}

/**
 * The part of the shutdown timeout (at most a fifth of it) kept after the sockets are closed, for
 * their presence leaves and the Redis goodbyes.
 */
const SHUTDOWN_RESERVE_MS = 500;

/** How long the admin channel search waits for every process's subscriber counts. */
const SUBSCRIBER_COUNT_WAIT_MS = 1000;

/**
 * Creates a Herald server. See {@link Herald}. `engine` replaces the one the options would pick
 * (engine/engine.ts): an application's own broker, presence and queues.
 */
export function createHerald(options?: HeraldOptions & { engine?: Engine }): Herald {
  return new Herald(options);
}
