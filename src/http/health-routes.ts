import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';

/**
 * `/healthz`: the process is up. `/readyz`: it can deliver messages right now: 503 while any broker
 * connection (Redis publisher or subscriber) is down, so a load balancer stops sending clients to
 * a process whose Pub/Sub is dead (the failure of Centrifugo #1189).
 */
export function healthRoutes(app: FastifyInstance, broker: Broker, isShuttingDown: () => boolean): void {
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    const health = broker.health();
    const ready = health.ready && !isShuttingDown();
    return reply.status(ready ? 200 : 503).send({ ok: ready, broker: broker.kind, connections: health.connections });
  });
}
