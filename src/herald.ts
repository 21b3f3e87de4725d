import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
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
import { metricsRoute } from './http/metrics-route.ts';
import { publishRoute } from './http/publish-route.ts';
import { SocketServer, type SocketHandler } from './transport/socket-server.ts';

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
      logger: { level: o.logLevel, redact: ['req.headers.authorization', 'req.headers.cookie'] },
      bodyLimit: 1024 * 1024,
      // A number where a string belongs is a client bug to report, not to paper over.
      ajv: { customOptions: { coerceTypes: false } },
      forceCloseConnections: true,
    });
    this.log = this.http.log;
    this.broker = o.redisUrl === undefined ? new MemoryBroker() : new RedisBroker({ url: o.redisUrl, prefix: o.redisPrefix });
    this.#registry = new SubscriberRegistry(this.broker);
    this.#publisher = new Publisher(this.broker, this.#namespaces);
    this.#sockets = new SocketServer({
      context: { registry: this.#registry, publisher: this.#publisher, log: this.log, maxBacklogBytes: o.maxBacklogBytes },
      maxPayloadBytes: o.maxFrameBytes,
      heartbeatMs: o.heartbeatMs,
    });
    installErrorReplies(this.http);
    healthRoutes(this.http, this.broker, () => this.#shuttingDown);
    const apiAccess = apiAccessHook(o.apiKey);
    metricsRoute(this.http, {
      connections: () => this.#sockets.connections.size,
      channels: () => this.#registry.channelCount,
      published: () => this.#publisher.published,
      delivered: () => this.#registry.delivered,
      brokerReady: () => this.broker.health().ready,
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
   * constraints (`/ws/:user_id(^\\d+$)`); static paths win over parametric ones.
   */
  socket(path: string, handler: SocketHandler): this {
    this.#sockets.route(path, handler);
    return this;
  }

  /** Sets the options of every channel named `<name>:...`. */
  namespace(name: string, options: NamespaceOptions): this {
    this.#namespaces.define(name, options);
    return this;
  }

  /** Publishes `data` to `channel` on every process; resolves once the broker has it. */
  publish(channel: string, data: unknown): Promise<PublishResult> {
    return this.#publisher.publish(channel, data);
  }

  /** Counts for monitoring and tests: open sockets and channels with local subscribers. */
  stats(): { connections: number; channels: number; broker: string } {
    return { connections: this.#sockets.connections.size, channels: this.#registry.channelCount, broker: this.broker.kind };
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
