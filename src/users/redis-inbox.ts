import type { Cluster, Redis } from 'ioredis';
import { unavailable } from '../history/redis-history.ts';
import type { Inbox, InboxLimits, InboxMessage } from './inbox.ts';

/**
 * One stream per user, `<prefix>{user:<id>}:inbox` (the hash tag of the user's online status keys),
 * field `m` holding the message JSON. Stream ids give the order and the age: entries older than the
 * age limit are trimmed (XTRIM MINID) before each store and read, so the count limit is checked
 * against live messages only.
 */
const STORE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local maxAge = tonumber(ARGV[2])
redis.call('XTRIM', KEYS[1], 'MINID', now - maxAge)
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[3])
redis.call('PEXPIRE', KEYS[1], maxAge)
return id
`;

const READ_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('XTRIM', KEYS[1], 'MINID', now - tonumber(ARGV[1]))
return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[2]))
`;

type ScriptRedis = Redis & {
  heraldInboxStore(numKeys: number, ...args: Array<string | number>): Promise<string | null>;
  heraldInboxRead(numKeys: number, ...args: Array<string | number>): Promise<Array<[string, string[]]>>;
};

export class RedisInbox implements Inbox {
  readonly #redis: ScriptRedis;
  readonly #prefix: string;
  readonly #limits: InboxLimits;

  constructor(redis: Redis | Cluster, prefix: string, limits: InboxLimits) {
    redis.defineCommand('heraldInboxStore', { lua: STORE_SCRIPT });
    redis.defineCommand('heraldInboxRead', { lua: READ_SCRIPT });
    this.#redis = redis as unknown as ScriptRedis;
    this.#prefix = prefix;
    this.#limits = limits;
  }

  async store(user: string, json: string): Promise<{ id: string; sentAt: number } | undefined> {
    const id = await this.#redis.heraldInboxStore(1, this.#key(user), this.#limits.maxMessages, this.#limits.maxAgeMs, json).catch(unavailable);
    if (id === null) return undefined;
    return { id, sentAt: Number(id.slice(0, id.indexOf('-'))) };
  }

  async read(user: string, limit: number): Promise<InboxMessage[]> {
    if (limit <= 0) return [];
    const entries = await this.#redis.heraldInboxRead(1, this.#key(user), this.#limits.maxAgeMs, limit).catch(unavailable);
    return entries.map(([id, fields]) => ({ id, sentAt: Number(id.slice(0, id.indexOf('-'))), json: fields[fields.indexOf('m') + 1] ?? 'null' }));
  }

  async ack(user: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.#redis.xdel(this.#key(user), ...ids).catch(unavailable);
  }

  async close(): Promise<void> {}

  #key(user: string): string {
    return `${this.#prefix}{user:${user}}:inbox`;
  }
}
