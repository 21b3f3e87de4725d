import { hostname } from 'node:os';
import { Redis } from 'ioredis';

/** Decides which process fires a schedule's tick. */
export interface TickElection {
  /**
   * Resolves true on exactly one process per `(name, tickMs)` in the cluster. `holdMs` is how long
   * the claim must outlive the tick (processes whose timers run late must still see it).
   */
  claim(name: string, tickMs: number, holdMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One process, no Redis: every tick is this process's. */
export class LocalTickElection implements TickElection {
  async claim(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {}
}

/**
 * `SET <prefix>schedule:<name>:<tick> <host/pid> NX PX <hold>`: the first process to ask wins that
 * tick. There is no leader to lose: each tick is contested afresh, so when the process that fired
 * the last tick dies, a live one wins the next tick (within one period) with no failover step. The
 * value names the winner, for operators and tests.
 */
export class RedisTickElection implements TickElection {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #me = `${hostname()}/${process.pid}`;

  constructor(url: string, prefix: string) {
    this.#prefix = prefix;
    // Fail fast while Redis is down: a late claim would fire a tick long after its time.
    this.#redis = new Redis(url, { connectionName: 'herald-schedules', enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    this.#redis.on('error', () => {});
  }

  async start(): Promise<void> {
    await this.#redis.connect();
  }

  async claim(name: string, tickMs: number, holdMs: number): Promise<boolean> {
    const key = `${this.#prefix}schedule:${name}:${tickMs}`;
    return (await this.#redis.set(key, this.#me, 'PX', Math.max(1000, Math.ceil(holdMs)), 'NX')) === 'OK';
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => {});
    this.#redis.disconnect();
  }
}
