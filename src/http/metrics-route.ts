import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { accessErrors, errorReplies } from './reply-schemas.ts';

/** Numbers the hot path keeps as plain counters; Prometheus reads them only when scraped. */
export interface MetricSources {
  connections(): number;
  channels(): number;
  published(): number;
  delivered(): number;
  /** Publications of client channels the broker handed to this process. */
  received(): number;
  brokerReady(): boolean;
  /** Refusals and limit hits by kind (transport/refusals.ts). */
  refusals?(): Record<string, number>;
}

/**
 * `GET /metrics` in Prometheus text format, behind the same access rule as `/api/*`.
 *
 * Each Herald has its own registry (several may run in one process, as in the tests), and nothing
 * on the per-delivery path touches prom-client: counters are read from the sources at scrape time
 * (the only observation as it happens is one histogram observe per publish, operator-metrics.ts).
 */
export function metricsRoute(app: FastifyInstance, sources: MetricSources, access: preHandlerAsyncHookHandler): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const fromSource = (read: () => number) =>
    function (this: Gauge | Counter) {
      this.reset();
      this.inc(read());
    };
  new Gauge({ name: 'herald_connections', help: 'Open WebSocket connections', registers: [registry], collect: fromSource(sources.connections) });
  new Gauge({ name: 'herald_channels', help: 'Channels with at least one local subscriber', registers: [registry], collect: fromSource(sources.channels) });
  new Counter({ name: 'herald_publications_total', help: 'Publications sent to the broker by this process', registers: [registry], collect: fromSource(sources.published) });
  new Counter({ name: 'herald_deliveries_total', help: 'Publications handed to local subscribers', registers: [registry], collect: fromSource(sources.delivered) });
  new Counter({ name: 'herald_broker_received_total', help: 'Publications the broker handed to this process (channels with local subscribers only)', registers: [registry], collect: fromSource(sources.received) });
  new Gauge({
    name: 'herald_broker_ready',
    help: '1 while every broker connection is ready',
    registers: [registry],
    collect: fromSource(() => (sources.brokerReady() ? 1 : 0)),
  });
  const refusals = sources.refusals;
  if (refusals !== undefined) {
    new Counter({
      name: 'herald_refusals_total',
      help: 'Refusals and limit hits (bad token, origin, rate, slow consumer, ...) by kind',
      labelNames: ['kind'],
      registers: [registry],
      collect(this: Counter<'kind'>) {
        this.reset();
        for (const [kind, count] of Object.entries(refusals())) this.inc({ kind }, count);
      },
    });
  }
  const schema = {
    tags: ['health'],
    summary: 'Prometheus metrics',
    security: [{ apiKey: [] }],
    response: {
      200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
      ...errorReplies(accessErrors),
    },
  };
  app.get('/metrics', { preHandler: access, schema }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  // For metrics observed as they happen (histograms), registered by their owners.
  return registry;
}
