import type { Redis } from 'ioredis';
import { unavailable } from '../history/redis-history.ts';
import type { Presence, PresenceEntry } from './presence.ts';

/**
 * Keys per channel: `<prefix>presence:<channel>` (hash: connection id → entry JSON) and
 * `<prefix>presence-expiry:<channel>` (sorted set: connection id → expiry time in ms, Redis clock).
 * Each process refreshes its own entries every third of the TTL; a dead process's entries pass
 * their expiry and are dropped by the next `list`.
 */
const JOIN_SCRIPT = `
local now = redis.call('TIME')
local expires = now[1] * 1000 + math.floor(now[2] / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], expires, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
`;

const LIST_SCRIPT = `
local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms)
  redis.call('HDEL', KEYS[1], unpack(expired))
end
return redis.call('HVALS', KEYS[1])
`;

type ScriptRedis = Redis & {
  heraldPresenceJoin(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldPresenceList(numKeys: number, ...args: string[]): Promise<string[]>;
};

export class RedisPresence implements Presence {
  readonly #redis: ScriptRedis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  /** This process's entries, refreshed until they leave. */
  readonly #local = new Map<string, Map<string, string>>();
  readonly #refresher: NodeJS.Timeout;

  constructor(redis: Redis, prefix: string, ttlMs: number) {
    redis.defineCommand('heraldPresenceJoin', { lua: JOIN_SCRIPT });
    redis.defineCommand('heraldPresenceList', { lua: LIST_SCRIPT });
    this.#redis = redis as ScriptRedis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
    this.#refresher = setInterval(() => this.#refresh(), Math.max(100, Math.floor(ttlMs / 3))).unref();
  }

  async join(channel: string, entry: PresenceEntry): Promise<void> {
    const json = JSON.stringify(entry);
    let entries = this.#local.get(channel);
    if (entries === undefined) this.#local.set(channel, (entries = new Map()));
    entries.set(entry.connection, json);
    await this.#redis.heraldPresenceJoin(2, ...this.#keys(channel), this.#ttlMs, entry.connection, json).catch(unavailable);
  }

  async leave(channel: string, connection: string): Promise<void> {
    const entries = this.#local.get(channel);
    if (entries !== undefined) {
      entries.delete(connection);
      if (entries.size === 0) this.#local.delete(channel);
    }
    const [hash, expiry] = this.#keys(channel);
    await this.#redis.multi().hdel(hash, connection).zrem(expiry, connection).exec().catch(unavailable);
  }

  async list(channel: string): Promise<PresenceEntry[]> {
    const values = await this.#redis.heraldPresenceList(2, ...this.#keys(channel)).catch(unavailable);
    return values.map((json) => JSON.parse(json) as PresenceEntry);
  }

  async close(): Promise<void> {
    clearInterval(this.#refresher);
    this.#local.clear();
  }

  #refresh(): void {
    for (const [channel, entries] of this.#local) {
      const args: Array<string | number> = [this.#ttlMs];
      for (const [connection, json] of entries) args.push(connection, json);
      // A failed refresh is retried on the next tick; meanwhile the entries may lapse, which is
      // the price of not keeping a dead process's entries forever.
      this.#redis.heraldPresenceJoin(2, ...this.#keys(channel), ...args).catch(() => {});
    }
  }

  #keys(channel: string): [string, string] {
    return [`${this.#prefix}presence:${channel}`, `${this.#prefix}presence-expiry:${channel}`];
  }
}
