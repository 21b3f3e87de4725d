import type { Cluster, Redis } from 'ioredis';
import { unavailable } from '../history/redis-history.ts';

/** An event an endpoint never accepted within the retry time. */
export interface DeadLetter {
  url: string;
  /** The event as it was sent. */
  event: unknown;
  attempts: number;
  /** The last failure: `HTTP 500`, or the network error. */
  lastError: string;
  /** When delivery was given up, ms since the epoch. */
  failedAt: number;
}

/** The newest dead letters are kept, up to this many (older ones are dropped). */
export const MAX_DEAD_LETTERS = 1000;

/** Where given-up webhook events are kept for `GET /api/webhooks/dead-letters`, newest first. */
export interface DeadLetters {
  add(letter: DeadLetter): Promise<void>;
  list(limit: number): Promise<DeadLetter[]>;
}

export class MemoryDeadLetters implements DeadLetters {
  readonly #letters: DeadLetter[] = [];

  async add(letter: DeadLetter): Promise<void> {
    this.#letters.unshift(letter);
    this.#letters.length = Math.min(this.#letters.length, MAX_DEAD_LETTERS);
  }

  async list(limit: number): Promise<DeadLetter[]> {
    return this.#letters.slice(0, limit);
  }
}

/** One list, `<prefix>webhook-dead-letters`, shared by the cluster. */
export class RedisDeadLetters implements DeadLetters {
  readonly #redis: Redis | Cluster;
  readonly #key: string;

  constructor(redis: Redis | Cluster, prefix: string) {
    this.#redis = redis;
    this.#key = `${prefix}webhook-dead-letters`;
  }

  async add(letter: DeadLetter): Promise<void> {
    await this.#redis.multi().lpush(this.#key, JSON.stringify(letter)).ltrim(this.#key, 0, MAX_DEAD_LETTERS - 1).exec().catch(unavailable);
  }

  async list(limit: number): Promise<DeadLetter[]> {
    const entries = await this.#redis.lrange(this.#key, 0, limit - 1).catch(unavailable);
    return entries.map((json) => JSON.parse(json) as DeadLetter);
  }
}
