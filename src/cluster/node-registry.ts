import type { FastifyBaseLogger } from 'fastify';
import { settlesBefore } from '../deadline.ts';
import type { NodeAnnouncement } from './node-announcement.ts';
import type { NodeDirectory } from './node-directory.ts';
import type { NodeSampler } from './node-sampler.ts';

/** An announcement lasts this many intervals: one or two lost announcements do not drop a node. */
export const ANNOUNCEMENT_LIFETIME_INTERVALS = 3;

/**
 * This process's membership of the cluster's node list: announces itself every `intervalMs`
 * (the first time before `start` resolves, so the node is listed as soon as it listens), and
 * removes itself on `close`.
 */
export class NodeRegistry {
  readonly #directory: NodeDirectory;
  readonly #intervalMs: number;
  readonly #log: FastifyBaseLogger;
  #sampler: NodeSampler | undefined;
  #timer: NodeJS.Timeout | undefined;
  #warned = false;

  constructor(options: { directory: NodeDirectory; intervalMs: number; log: FastifyBaseLogger }) {
    this.#directory = options.directory;
    this.#intervalMs = options.intervalMs;
    this.#log = options.log;
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  async start(sampler: NodeSampler): Promise<void> {
    this.#sampler = sampler;
    await this.#announce();
    this.#timer = setInterval(() => void this.#announce(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Every live node of the cluster, oldest first. */
  async list(): Promise<NodeAnnouncement[]> {
    const nodes = await this.#directory.list();
    return nodes.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  }

  /** Stops announcing and removes this node, giving up at `deadline` (the key then expires). */
  async close(deadline: number): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const sampler = this.#sampler;
    this.#sampler = undefined;
    if (sampler === undefined) return;
    const id = sampler.id;
    // An announcement already sent went out on the same Redis connection before this removal, so
    // Redis runs it first: the node cannot reappear after it.
    await settlesBefore(this.#directory.remove(id).catch(() => {}), deadline);
  }

  async #announce(): Promise<void> {
    const sampler = this.#sampler;
    if (sampler === undefined) return;
    try {
      await this.#directory.announce(sampler.sample(), this.#intervalMs * ANNOUNCEMENT_LIFETIME_INTERVALS);
      this.#warned = false;
    } catch (error) {
      // Redis is down: the next interval tries again; one warning per outage is enough.
      if (!this.#warned) this.#log.warn({ err: error }, 'could not announce this node to the cluster');
      this.#warned = true;
    }
  }
}
