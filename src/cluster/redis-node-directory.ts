import type { RedisKeys } from '../engine/redis-keys.ts';
import type { RedisCommands } from '../history/redis-history.ts';
import type { NodeAnnouncement } from './node-announcement.ts';
import type { NodeDirectory } from './node-directory.ts';

/**
 * Announcements in Redis: one string key per node, `<prefix>node:<id>`, that expires on its own
 * (PX), and a sorted set `<prefix>nodes` of node ids (on a cluster both under one hash tag:
 * engine/redis-keys.ts) scored by that expiry, so listing reads only
 * this cluster's keys instead of SCANning the whole keyspace (which a shared Redis can make large).
 *
 * Liveness is decided by the key's own expiry, on Redis' clock; the index is only a list of
 * candidates. Announcements and reads prune index entries whose expiry has passed (by Redis' TIME,
 * so the processes' clocks need not agree), and a read skips ids whose key is gone. A read is one
 * script, one round trip: any process answers from what Redis holds, without waiting for anyone.
 */
export class RedisNodeDirectory implements NodeDirectory {
  readonly #redis: RedisCommands;
  readonly #keys: RedisKeys;

  constructor(redis: RedisCommands, keys: RedisKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async announce(announcement: NodeAnnouncement, ttlMs: number): Promise<void> {
    await this.#redis.eval(ANNOUNCE, 2, this.#nodeKey(announcement.id), this.#indexKey(), JSON.stringify(announcement), ttlMs, announcement.id);
  }

  async list(): Promise<NodeAnnouncement[]> {
    const values = (await this.#redis.eval(LIST, 1, this.#indexKey(), this.#keys.nodeKeyPrefix)) as Array<string | false>;
    return values.filter((value): value is string => typeof value === 'string').map((value) => JSON.parse(value) as NodeAnnouncement);
  }

  async remove(id: string): Promise<void> {
    await this.#redis.multi().del(this.#nodeKey(id)).zrem(this.#indexKey(), id).exec();
  }

  #nodeKey(id: string): string {
    return this.#keys.nodeKeyPrefix + id;
  }

  #indexKey(): string {
    return this.#keys.nodeIndex;
  }
}

/**
 * KEYS: node key, index. ARGV: announcement JSON, ttl ms, node id. Writes the node's key with its
 * expiry, scores it in the index by the same expiry, drops index entries already expired, and
 * keeps the index itself from outliving the last announcement.
 */
const NOW_MS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;

const ANNOUNCE = `${NOW_MS}
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`;

/**
 * KEYS: index. ARGV: node key prefix. Prunes expired ids, then returns each live node's JSON. The
 * node keys are built in the script, which a single Redis allows, and a cluster too since they
 * share the index's hash tag; it keeps the listing one round trip.
 */
const LIST = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
if #ids == 0 then return {} end
local keys = {}
for i, id in ipairs(ids) do keys[i] = ARGV[1] .. id end
return redis.call('MGET', unpack(keys))
`;
