import type { RedisKeys } from '../engine/redis-keys.ts';
import { unavailable, type RedisCommands } from '../history/redis-history.ts';
import type { Presence, PresenceEntry } from './presence.ts';

/**
 * Keys per channel (names: engine/redis-keys.ts): `presence` (hash: connection id → entry JSON) and
 * `presence-expiry` (sorted set: connection id → expiry time in ms, Redis clock).
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

/**
 * Lua that drops the entries whose expiry (by Redis's clock) has passed, leaving `ms` = now: the
 * start of every script that reads entries, so a dead process's entries are never listed or counted.
 */
const DROP_LAPSED = `local now = redis.call('TIME')
local ms = now[1] * 1000 + math.floor(now[2] / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms)
  redis.call('HDEL', KEYS[1], unpack(expired))
end
`;

/**
 * One entry's join (ARGV: ttl, connection, entry JSON, user or '' for none), counting the user's
 * entries in the same step; lapsed entries are dropped first so that they are not counted.
 */
const JOIN_COUNT_SCRIPT = `
${DROP_LAPSED}redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
local count = 0
for _, json in ipairs(redis.call('HVALS', KEYS[1])) do
  local user = cjson.decode(json).user
  if (type(user) == 'string' and user == ARGV[4]) or (type(user) ~= 'string' and ARGV[4] == '') then count = count + 1 end
end
return count
`;

/** A leave (ARGV: connection): the user's entries left after it, or -1 when there was no entry. */
const LEAVE_COUNT_SCRIPT = `
local json = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if not json then return -1 end
local gone = cjson.decode(json).user
local count = 0
for _, other in ipairs(redis.call('HVALS', KEYS[1])) do
  local user = cjson.decode(other).user
  if user == gone then count = count + 1 end
end
return count
`;

const LIST_SCRIPT = `
${DROP_LAPSED}return redis.call('HVALS', KEYS[1])
`;

type ScriptRedis = RedisCommands & {
  heraldPresenceJoin(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldPresenceList(numKeys: number, ...args: string[]): Promise<string[]>;
  heraldPresenceJoinCount(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldPresenceLeaveCount(numKeys: number, ...args: string[]): Promise<number>;
};

export class RedisPresence implements Presence {
  readonly #redis: ScriptRedis;
  readonly #names: RedisKeys;
  readonly #ttlMs: number;
  /** This process's entries, once Redis has them: refreshed until they leave. */
  readonly #local = new Map<string, Map<string, string>>();
  /** Joins waiting for Redis, by channel and connection; a leave marks them so they undo themselves. */
  readonly #joining = new Map<string, Array<{ left: boolean }>>();
  readonly #refresher: NodeJS.Timeout;

  constructor(redis: RedisCommands, keys: RedisKeys, ttlMs: number) {
    redis.defineCommand('heraldPresenceJoin', { lua: JOIN_SCRIPT });
    redis.defineCommand('heraldPresenceList', { lua: LIST_SCRIPT });
    redis.defineCommand('heraldPresenceJoinCount', { lua: JOIN_COUNT_SCRIPT });
    redis.defineCommand('heraldPresenceLeaveCount', { lua: LEAVE_COUNT_SCRIPT });
    this.#redis = redis as ScriptRedis;
    this.#names = keys;
    this.#ttlMs = ttlMs;
    this.#refresher = setInterval(() => this.#refresh(), Math.max(100, Math.floor(ttlMs / 3))).unref();
  }

  /**
   * The entry is refreshed only once Redis has confirmed it: an entry whose join failed, or that
   * left while its join was in flight, must not be kept alive for the life of the process.
   */
  async join(channel: string, entry: PresenceEntry): Promise<number> {
    const json = JSON.stringify(entry);
    const key = `${channel}\n${entry.connection}`;
    const attempt = { left: false };
    let attempts = this.#joining.get(key);
    if (attempts === undefined) this.#joining.set(key, (attempts = []));
    attempts.push(attempt);
    let failure: unknown;
    let count = 0;
    try {
      count = await this.#redis.heraldPresenceJoinCount(2, ...this.#keys(channel), this.#ttlMs, entry.connection, json, entry.user ?? '');
    } catch (error) {
      failure = error;
    }
    attempts.splice(attempts.indexOf(attempt), 1);
    if (attempts.length === 0) this.#joining.delete(key);
    const confirmed = this.#local.get(channel)?.has(entry.connection) === true;
    if (failure !== undefined || attempt.left) {
      // The script may have run even though its reply was lost, and a leave's HDEL may have
      // reached Redis before this join's HSET: remove the entry again, unless a later join or an
      // earlier confirmed entry of the same connection now owns it. If Redis cannot be reached the
      // entry, refreshed by no one, lapses within the TTL.
      if (!confirmed && !this.#joining.has(key)) await this.#remove(channel, entry.connection).catch(() => {});
      if (failure !== undefined) unavailable(failure);
      return count;
    }
    let entries = this.#local.get(channel);
    if (entries === undefined) this.#local.set(channel, (entries = new Map()));
    entries.set(entry.connection, json);
    return count;
  }

  async leave(channel: string, connection: string): Promise<number | undefined> {
    for (const attempt of this.#joining.get(`${channel}\n${connection}`) ?? []) attempt.left = true;
    const entries = this.#local.get(channel);
    if (entries !== undefined) {
      entries.delete(connection);
      if (entries.size === 0) this.#local.delete(channel);
    }
    const left = await this.#redis.heraldPresenceLeaveCount(2, ...this.#keys(channel), connection).catch(unavailable);
    return left < 0 ? undefined : left;
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

  async #remove(channel: string, connection: string): Promise<void> {
    const [hash, expiry] = this.#keys(channel);
    await this.#redis.multi().hdel(hash, connection).zrem(expiry, connection).exec();
  }

  #keys(channel: string): [string, string] {
    return [this.#names.channelKey(channel, 'presence'), this.#names.channelKey(channel, 'presence-expiry')];
  }
}
