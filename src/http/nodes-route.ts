import type { FastifyInstance } from 'fastify';
import type { NodeRegistry } from '../cluster/node-registry.ts';
import { Errors, HeraldError } from '../errors.ts';
import { accessErrors, errorReplies } from './reply-schemas.ts';

const count = { type: 'integer', minimum: 0 } as const;
const rate = { type: 'number', minimum: 0 } as const;

const nodeSchema = {
  type: 'object',
  required: [
    'id', 'host', 'port', 'pid', 'version', 'startedAt', 'announcedAt', 'broker', 'connections', 'channels',
    'publicationsPerSecond', 'deliveriesPerSecond', 'memory', 'cpu', 'eventLoopDelayP99Ms',
  ],
  properties: {
    id: { type: 'string', description: 'Unique in the cluster; also the prefix of the connection ids of this process' },
    host: { type: 'string', description: "The machine's host name" },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    pid: { type: 'integer', minimum: 0 },
    version: { type: 'string', description: "Herald's version" },
    startedAt: { type: 'string', format: 'date-time' },
    announcedAt: { type: 'string', format: 'date-time', description: 'When these numbers were taken' },
    broker: { type: 'string', enum: ['memory', 'redis', 'redis-cluster'] },
    connections: { ...count, description: 'Open WebSocket connections' },
    channels: { ...count, description: 'Channels with at least one local subscriber' },
    publicationsPerSecond: { ...rate, description: 'Publications this process sent, per second over the last interval' },
    deliveriesPerSecond: { ...rate, description: 'Publications handed to local subscribers, per second over the last interval' },
    memory: {
      type: 'object',
      required: ['rssBytes', 'heapUsedBytes'],
      properties: { rssBytes: count, heapUsedBytes: count },
    },
    cpu: { ...rate, description: 'CPU time over the last interval, as a fraction of one core' },
    eventLoopDelayP99Ms: { ...rate, description: '99th percentile of event-loop delay over the last interval' },
  },
} as const;

export const nodesSchema = {
  tags: ['api'],
  summary: 'Every live server process of the cluster, this one included, as each last announced itself',
  security: [{ apiKey: [] }],
  response: {
    200: {
      description: 'The nodes, oldest first',
      type: 'object',
      required: ['self', 'announceIntervalMs', 'nodes'],
      properties: {
        self: { type: 'string', description: 'The id of the process that answered' },
        announceIntervalMs: { type: 'integer', minimum: 1, description: 'HERALD_NODE_ANNOUNCE_MS of the process that answered' },
        nodes: { type: 'array', items: nodeSchema },
      },
    },
    ...errorReplies({ ...accessErrors, 503: 'The broker (Redis) did not answer' }),
  },
};

/** `GET /nodes` (under `/api`): the cluster's node list (cluster/node-registry.ts). */
export function nodesRoute(api: FastifyInstance, nodes: NodeRegistry, selfId: string): void {
  api.get('/nodes', { schema: nodesSchema }, async () => {
    let list;
    try {
      list = await nodes.list();
    } catch (error) {
      throw new HeraldError(Errors.BROKER_UNAVAILABLE, 'The broker (Redis) did not answer; the node list is unknown', { cause: error });
    }
    return { self: selfId, announceIntervalMs: nodes.intervalMs, nodes: list };
  });
}
