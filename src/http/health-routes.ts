import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import type { CanaryState } from '../broker/delivery-canary.ts';

const readiness = {
  type: 'object',
  required: ['ok', 'broker', 'connections'],
  properties: {
    ok: { type: 'boolean' },
    broker: { type: 'string', enum: ['memory', 'redis', 'redis-cluster'] },
    connections: { type: 'object', additionalProperties: { type: 'string' }, description: 'State of each broker connection, e.g. {"publisher": "ready", "subscriber": "ready"}' },
    canary: {
      type: 'object',
      description: 'With Redis: whether this process\'s delivery canary comes back through Pub/Sub (broker/delivery-canary.ts)',
      required: ['ok', 'lastRoundTripMs', 'overdueMs', 'thresholdMs'],
      properties: {
        ok: { type: 'boolean', description: 'False once no canary has come back for thresholdMs' },
        lastRoundTripMs: { type: ['number', 'null'], description: 'Round trip of the last canary that came back (null before the first)' },
        overdueMs: { type: 'integer', description: 'How far past thresholdMs the wait for a returning canary is (0 while ok)' },
        thresholdMs: { type: 'integer', description: '2 × HERALD_CANARY_INTERVAL_MS + 1000' },
      },
    },
  },
} as const;

/**
 * `/healthz`: the process is up. `/readyz`: it can deliver messages right now: 503 while any broker
 * connection (Redis publisher or subscriber) is down, so a load balancer stops sending clients to
 * a process whose Pub/Sub is dead (the failure of Centrifugo #1189). Connections can look ready
 * while nothing is delivered (a paused or half-open subscriber), so with Redis it is also 503 while
 * the delivery canary is overdue.
 */
export function healthRoutes(app: FastifyInstance, broker: Broker, isShuttingDown: () => boolean, canary?: () => CanaryState | undefined): void {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: { description: 'Always, while the process runs', type: 'object', required: ['ok'], properties: { ok: { type: 'boolean', enum: [true] } } } } } },
    async () => ({ ok: true }),
  );
  const readySchema = {
    tags: ['health'],
    summary: 'The process can deliver messages right now',
    response: {
      200: { description: 'Every broker connection is up and the delivery canary comes back', ...readiness },
      503: { description: 'A broker connection is down, the delivery canary is overdue, or the process is shutting down', ...readiness },
    },
  };
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
    const health = broker.health();
    const delivery = canary?.();
    const ready = health.ready && delivery?.ok !== false && !isShuttingDown();
    return reply
      .status(ready ? 200 : 503)
      .send({ ok: ready, broker: broker.kind, connections: health.connections, ...(delivery === undefined ? {} : { canary: delivery }) });
  });
}
