import { hostname } from 'node:os';
import type { LoopDelayWindow } from '../shared/event-loop-delay.ts';
import type { NodeAnnouncement } from './node-announcement.ts';

/** Counters the server already keeps; read once per announcement, never per message. */
export interface NodeCounters {
  connections(): number;
  channels(): number;
  /** Total publications sent to the broker since start. */
  published(): number;
  /** Total deliveries to local subscribers since start. */
  delivered(): number;
}

export interface NodeIdentity {
  id: string;
  port: number;
  version: string;
  broker: 'memory' | 'redis' | 'redis-cluster';
}

/**
 * Takes this process's announcement. Rates, CPU and event-loop delay cover the time since the
 * previous sample (since start for the first), by differencing totals: nothing on the message path.
 */
export class NodeSampler {
  readonly #identity: NodeIdentity;
  readonly #counters: NodeCounters;
  readonly #host = hostname();
  readonly #startedAt = new Date();
  readonly #loopDelay: LoopDelayWindow;
  #last: { at: number; published: number; delivered: number; cpu: NodeJS.CpuUsage };

  /** `loopDelay`: this sampler's own window on the process's event-loop delay monitor. */
  constructor(identity: NodeIdentity, counters: NodeCounters, loopDelay: LoopDelayWindow) {
    this.#identity = identity;
    this.#counters = counters;
    this.#loopDelay = loopDelay;
    this.#last = { at: performance.now(), published: counters.published(), delivered: counters.delivered(), cpu: process.cpuUsage() };
  }

  get id(): string {
    return this.#identity.id;
  }

  sample(): NodeAnnouncement {
    const now = performance.now();
    const published = this.#counters.published();
    const delivered = this.#counters.delivered();
    const cpu = process.cpuUsage();
    const seconds = Math.max((now - this.#last.at) / 1000, 1e-3);
    const cpuMicros = cpu.user - this.#last.cpu.user + (cpu.system - this.#last.cpu.system);
    const memory = process.memoryUsage();
    const p99Ms = this.#loopDelay.takeP99Ms();
    const announcement: NodeAnnouncement = {
      id: this.#identity.id,
      host: this.#host,
      port: this.#identity.port,
      pid: process.pid,
      version: this.#identity.version,
      startedAt: this.#startedAt.toISOString(),
      announcedAt: new Date().toISOString(),
      broker: this.#identity.broker,
      connections: this.#counters.connections(),
      channels: this.#counters.channels(),
      publicationsPerSecond: round((published - this.#last.published) / seconds),
      deliveriesPerSecond: round((delivered - this.#last.delivered) / seconds),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      cpu: round(cpuMicros / 1e6 / seconds, 3),
      eventLoopDelayP99Ms: round(p99Ms),
    };
    this.#last = { at: now, published, delivered, cpu };
    return announcement;
  }
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
