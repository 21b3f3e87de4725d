/**
 * What one server process says about itself to the cluster, every `nodeAnnounceMs`
 * (`GET /api/nodes` lists one per live process).
 */
export interface NodeAnnouncement {
  /** Unique across the cluster: the random prefix of this process's connection ids. */
  id: string;
  /** The machine's host name. */
  host: string;
  port: number;
  pid: number;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601: when these numbers were taken. */
  announcedAt: string;
  broker: 'memory' | 'redis' | 'redis-cluster';
  /** Open WebSocket connections. */
  connections: number;
  /** Channels with at least one local subscriber. */
  channels: number;
  /** Publications this process sent to the broker, per second over the last interval. */
  publicationsPerSecond: number;
  /** Publications handed to local subscribers, per second over the last interval. */
  deliveriesPerSecond: number;
  memory: { rssBytes: number; heapUsedBytes: number };
  /** CPU time used over the last interval as a fraction of one core (may exceed 1). */
  cpu: number;
  /** 99th percentile of event-loop delay over the last interval, in ms. */
  eventLoopDelayP99Ms: number;
}
