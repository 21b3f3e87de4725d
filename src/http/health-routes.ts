import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';

const readiness = {
  type: 'object',
  required: ['ok', 'broker', 'connections'],
  properties: {
    ok: { type: 'boolean' },
    broker: { type: 'string', enum: ['memory', 'redis'] },
    connections: { type: 'object', additionalProperties: { type: 'string' }, description: 'State of each broker connection, e.g. {"publisher": "ready", "subscriber": "ready"}' },
  },
} as const;

/**
 * `/healthz`: the process is up. `/readyz`: it can deliver messages right now: 503 while any broker
 * connection (Redis publisher or subscriber) is down, so a load balancer stops sending clients to
 * a process whose Pub/Sub is dead (the failure of Centrifugo #1189).
 */
export function healthRoutes(app: FastifyInstance, broker: Broker, isShuttingDown: () => boolean): void {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: { description: 'Always, while the process runs', type: 'object', required: ['ok'], properties: { ok: { type: 'boolean', enum: [true] } } } } } },
    async () => ({ ok: true }),
  );
  const readySchema = {
    tags: ['health'],
    summary: 'The process can deliver messages right now',
    response: {
      200: { description: 'Every broker connection is up', ...readiness },
      503: { description: 'A broker connection is down, or the process is shutting down', ...readiness },
    },
  };
  app.get('/readyz', { schema: readySchema }, async (_request, reply) => {
    const health = broker.health();
    const ready = health.ready && !isShuttingDown();
    return reply.status(ready ? 200 : 503).send({ ok: ready, broker: broker.kind, connections: health.connections });
  });
}
