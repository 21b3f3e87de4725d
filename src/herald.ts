import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ChannelPermissions } from './auth/channel-permissions.ts';
import { ConnectionAuthenticator } from './auth/connection-authenticator.ts';
import { originGuard } from './auth/origin-check.ts';
import { TokenVerifier } from './auth/token-verifier.ts';
import type { Broker, PublishResult } from './broker/broker.ts';
import { MemoryBroker } from './broker/memory-broker.ts';
import { RedisBroker } from './broker/redis-broker.ts';
import { Namespaces, type NamespaceOptions } from './channels/namespace.ts';
import { Publisher } from './channels/publisher.ts';
import { SubscriberRegistry } from './channels/subscriber-registry.ts';
import { resolveOptions, type HeraldOptions, type ResolvedOptions } from './config.ts';
import { apiAccessHook } from './http/api-access.ts';
import { installErrorReplies } from './http/error-replies.ts';
import { healthRoutes } from './http/health-routes.ts';
import { logSerializers } from './http/log-redaction.ts';
import { metricsRoute } from './http/metrics-route.ts';
import { publishRoute } from './http/publish-route.ts';
import { Refusals } from './transport/refusals.ts';
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
  readonly broker: Broker;
  /**
   * The channel permission check every client-requested subscribe, publish, history or presence
   * read goes through (auth/channel-permissions.ts).
   */
  readonly permissions: ChannelPermissions;
  readonly #authenticator: ConnectionAuthenticator;
  readonly #refusals: Refusals;
  readonly #registry: SubscriberRegistry;
  readonly #namespaces = new Namespaces();
  readonly #publisher: Publisher;
  readonly #sockets: SocketServer;
  #shuttingDown = false;
  #closed: Promise<void> | undefined;

  constructor(options: HeraldOptions = {}) {
    this.options = resolveOptions(options);
    const o = this.options;
    this.http = Fastify({
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
      forceCloseConnections: true,
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
    this.broker = o.redisUrl === undefined ? new MemoryBroker() : new RedisBroker({ url: o.redisUrl, prefix: o.redisPrefix });
    this.#registry = new SubscriberRegistry(this.broker);
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
    });
    if (o.allowedOrigins !== undefined) this.#sockets.guard(originGuard(o.allowedOrigins));
    installErrorReplies(this.http);
    healthRoutes(this.http, this.broker, () => this.#shuttingDown);
    const apiAccess = apiAccessHook(o.apiKey);
    metricsRoute(this.http, {
      connections: () => this.#sockets.connections.size,
      channels: () => this.#registry.channelCount,
      published: () => this.#publisher.published,
      delivered: () => this.#registry.delivered,
      brokerReady: () => this.broker.health().ready,
      refusals: () => this.#refusals.counts,
    }, apiAccess);
    this.http.register(
      async (api) => {
        api.addHook('onRequest', apiAccess);
        publishRoute(api, this.#publisher);
        api.get('/stats', async () => this.stats());
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

  /** Publishes `data` to `channel` on every process; resolves once the broker has it. */
  publish(channel: string, data: unknown): Promise<PublishResult> {
    return this.#publisher.publish(channel, data);
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

  async listen(): Promise<HeraldAddress> {
    await this.broker.start(this.#registry.dispatch);
    if (this.options.apiKey === undefined) {
      this.log.warn('HERALD_API_KEY is not set: /api/* answers only clients on this machine');
    }
    this.#sockets.attach(this.http.server);
    await this.http.listen({ port: this.options.port, host: this.options.host });
    const address = this.http.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
    const host = this.options.host === '0.0.0.0' || this.options.host === '::' ? '127.0.0.1' : this.options.host;
    return { port, host, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` };
  }

  /** Stops accepting, closes every socket with 1001, and releases the broker. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#shuttingDown = true;
      await this.#sockets.close(this.options.shutdownTimeoutMs);
      await this.http.close();
      await this.broker.close();
    })();
    return this.#closed;
  }
}

/** Creates a Herald server. See {@link Herald}. */
export function createHerald(options?: HeraldOptions): Herald {
  return new Herald(options);
}
