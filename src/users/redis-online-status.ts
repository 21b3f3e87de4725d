import type { Cluster, Redis } from 'ioredis';
import { unavailable } from '../history/redis-history.ts';
import type { JoinOutcome, OnlineStatus, SubjectStatus, Transition } from './online-status.ts';

/**
 * Keys per subject, all under one hash tag `{<kind>:<subject>}` so each script touches one Redis
 * Cluster slot: `…:members` (sorted set: member → expiry in ms, Redis clock), `…:seen` (when the
 * last member left) and `…:notified` (`online` or `offline`, for the debounced notices). The
 * cluster-wide index `<prefix><kind>-online` (subject → latest expiry, this process's clock) only
 * tells the sweep which subjects may hold lapsed members; it is written by separate commands.
 */

/**
 * Removes lapsed members, adds ARGV[3..] with expiry now + ARGV[1]; 2: came online and notify, 1:
 * came online, 0: was online. `seen` stays: lookups ignore it while online, and the next departure
 * must be later than the last.
 */
const JOIN_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local before = redis.call('ZCARD', KEYS[1])
local keep = tonumber(ARGV[2])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) end
-- Kept well past the members' expiry: the sweep must find lapsed members to report them.
redis.call('PEXPIRE', KEYS[1], keep)
if before > 0 then return 0 end
if redis.call('GET', KEYS[3]) == 'online' then
  redis.call('PEXPIRE', KEYS[3], keep)
  return 1
end
redis.call('SET', KEYS[3], 'online', 'PX', keep)
return 2
`;

/** Removes ARGV[2] (with ARGV[2] = '' only lapsed members); the time the subject went offline, or -1. */
const LEAVE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local removed = 0
if ARGV[2] ~= '' then removed = redis.call('ZREM', KEYS[1], ARGV[2]) end
removed = removed + redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if removed == 0 or redis.call('ZCARD', KEYS[1]) > 0 then return -1 end
-- Departures are told apart by their time: two in one millisecond get distinct ones.
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if now <= previous then now = previous + 1 end
redis.call('SET', KEYS[2], now, 'PX', tonumber(ARGV[1]))
return now
`;

/** 1 once: still offline since ARGV[1] and notified online, which becomes offline. */
const CONFIRM_OFFLINE_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') > 0 then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if redis.call('GET', KEYS[3]) ~= 'online' then return 0 end
redis.call('SET', KEYS[3], 'offline', 'PX', tonumber(ARGV[2]))
return 1
`;

/** {live members, seen} */
const LOOKUP_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return {redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf'), redis.call('GET', KEYS[2]) or ''}
`;

/** How long `seen` and `notified` are kept after the last change: 30 days. */
const KEEP_MS = 30 * 24 * 3600 * 1000;
/** Subjects the sweep looks at per round. */
const SWEEP_BATCH = 500;

type ScriptRedis = Redis & {
  heraldOnlineJoin(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldOnlineLeave(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldOnlineConfirmOffline(numKeys: number, ...args: Array<string | number>): Promise<number>;
  heraldOnlineLookup(numKeys: number, ...args: string[]): Promise<[number, string]>;
};

export class RedisOnlineStatus implements OnlineStatus {
  readonly #redis: ScriptRedis;
  readonly #prefix: string;
  readonly #kind: string;
  readonly #ttlMs: number;
  /** This process's members, refreshed until they leave. */
  readonly #local = new Map<string, Set<string>>();
  readonly #listeners: Array<(subject: string, transition: Transition) => void> = [];
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  /** `kind` names the subjects (`user`, `channel`): it is part of every key. */
  constructor(redis: Redis | Cluster, prefix: string, kind: string, ttlMs: number) {
    redis.defineCommand('heraldOnlineJoin', { lua: JOIN_SCRIPT });
    redis.defineCommand('heraldOnlineLeave', { lua: LEAVE_SCRIPT });
    redis.defineCommand('heraldOnlineConfirmOffline', { lua: CONFIRM_OFFLINE_SCRIPT });
    redis.defineCommand('heraldOnlineLookup', { lua: LOOKUP_SCRIPT });
    this.#redis = redis as unknown as ScriptRedis;
    this.#prefix = prefix;
    this.#kind = kind;
    this.#ttlMs = ttlMs;
    // Refresh and sweep every third of the TTL, as presence does: a live process's members never
    // lapse, a dead one's are found within the TTL plus a third.
    this.#timer = setInterval(() => void this.#tick(), Math.max(100, Math.floor(ttlMs / 3))).unref();
  }

  async join(subject: string, member: string): Promise<JoinOutcome> {
    let members = this.#local.get(subject);
    if (members === undefined) this.#local.set(subject, (members = new Set()));
    members.add(member);
    let result: number;
    try {
      result = await this.#redis.heraldOnlineJoin(3, ...this.#keys(subject), this.#ttlMs, KEEP_MS, member);
    } catch (error) {
      // Left for the refresh to write again; the caller reports the failure.
      return unavailable(error);
    }
    this.#index(subject);
    return { online: result > 0, notify: result === 2 };
  }

  async leave(subject: string, member: string): Promise<number | undefined> {
    const members = this.#local.get(subject);
    if (members !== undefined) {
      members.delete(member);
      if (members.size === 0) this.#local.delete(subject);
    }
    const [membersKey, seenKey] = this.#keys(subject);
    const result = await this.#redis.heraldOnlineLeave(2, membersKey, seenKey, KEEP_MS, member).catch(unavailable);
    return result < 0 ? undefined : result;
  }

  async confirmOffline(subject: string, lastSeen: number): Promise<boolean> {
    const result = await this.#redis.heraldOnlineConfirmOffline(3, ...this.#keys(subject), String(lastSeen), KEEP_MS).catch(unavailable);
    return result === 1;
  }

  async lookup(subjects: readonly string[]): Promise<Map<string, SubjectStatus>> {
    // One call per subject rather than a pipeline: on a Redis Cluster the subjects live on several
    // shards, which one pipeline cannot span; the connection's auto-pipelining still sends the
    // calls of one event-loop turn together (per shard on a cluster).
    const replies = await Promise.all(
      subjects.map((subject) => {
        const [members, seen] = this.#keys(subject);
        return this.#redis.heraldOnlineLookup(2, members, seen);
      }),
    ).catch(unavailable);
    const statuses = new Map<string, SubjectStatus>();
    subjects.forEach((subject, index) => {
      const [live, seen] = replies[index]!;
      statuses.set(subject, { online: live > 0, lastSeen: live > 0 || seen === '' ? null : Number(seen) });
    });
    return statuses;
  }

  onTransition(listener: (subject: string, transition: Transition) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#local.clear();
  }

  async #tick(): Promise<void> {
    // A failed round is retried on the next tick; meanwhile members may lapse, which is the price
    // of not keeping a dead process's members forever.
    await Promise.all([...this.#local].map(([subject, members]) => this.#refresh(subject, [...members]))).catch(() => {});
    if (!this.#closed) await this.#sweep().catch(() => {});
  }

  async #refresh(subject: string, members: string[]): Promise<void> {
    if (members.length === 0) return;
    const result = await this.#redis.heraldOnlineJoin(3, ...this.#keys(subject), this.#ttlMs, KEEP_MS, ...members);
    this.#index(subject);
    // A refresh that finds the subject offline (Redis lost the members, or they lapsed during an
    // outage) brings it back: nobody else was told it came online, and a lapse told them it left.
    if (result > 0) for (const listener of this.#listeners) listener(subject, { online: true, notify: result === 2 });
  }

  /** Finds subjects whose members may have lapsed and removes those; the one that empties a subject tells. */
  async #sweep(): Promise<void> {
    const index = this.#indexKey;
    const due = await this.#redis.zrangebyscore(index, '-inf', Date.now(), 'LIMIT', 0, SWEEP_BATCH);
    for (const subject of due) {
      const [members, seen] = this.#keys(subject);
      const lastSeen = await this.#redis.heraldOnlineLeave(2, members, seen, KEEP_MS, '');
      const left = await this.#redis.zcard(members);
      // A join racing this removal writes the index again on its next refresh.
      if (left === 0) await this.#redis.zrem(index, subject);
      if (lastSeen >= 0) for (const listener of this.#listeners) listener(subject, { online: false, lastSeen });
    }
  }

  #index(subject: string): void {
    this.#redis.zadd(this.#indexKey, Date.now() + this.#ttlMs, subject).catch(() => {});
  }

  get #indexKey(): string {
    return `${this.#prefix}${this.#kind}-online`;
  }

  #keys(subject: string): [string, string, string] {
    const tag = `${this.#prefix}{${this.#kind}:${subject}}`;
    return [`${tag}:members`, `${tag}:seen`, `${tag}:notified`];
  }
}
