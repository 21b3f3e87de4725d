import type { Cluster, Redis } from 'ioredis';
import type { HistoryOptions } from '../channels/namespace.ts';
import type { RedisKeys } from '../engine/redis-keys.ts';
import { Errors, HeraldError } from '../errors.ts';
import { POSITION_TTL_SECONDS, type History, type HistoryEntry, type HistoryPage, type HistoryQuery } from './history.ts';
import { newEpoch, RedisPublishBatches, type HistoryPublishResult } from './redis-publish-batch.ts';

export type { HistoryPublishResult } from './redis-publish-batch.ts';

/**
 * How a history tells that the Redis it writes to took over from another one: on a Redis Cluster
 * the node id (CLUSTER MYID), behind Sentinel the replication id of the primary (a promoted replica
 * gets a new one, and so does a primary that restarted). Unset on one Redis by URL.
 */
export type WriterIdentity = 'cluster-node' | 'replication-id';

/**
 * The Lua expression that names the Redis a script runs on (see WriterIdentity). `INFO replication`
 * formats the whole section (a few microseconds) only to read one field, but `ROLE`, the cheap
 * alternative, may not be called from a script and names no replication id; the publish script
 * asks once per call, which carries a whole turn's publications (redis-publish-batch.ts).
 */
function writerOf(identity: WriterIdentity): string {
  return identity === 'cluster-node' ? "redis.call('CLUSTER', 'MYID')" : "string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')";
}

/**
 * The channel's epoch, or a new one (`candidate`) when its history is gone. With a writer identity
 * the meta hash also names the Redis that wrote it: Redis replicates asynchronously, so a replica
 * promoted after its primary died may lack the primary's last publications, which subscribers have
 * already received with their offsets. Reusing those offsets would hand the next publications
 * positions that clients already hold, a silent gap; instead the first publication or read on the
 * new primary starts a new epoch, and clients are told they did not recover. A slot migrated to
 * another primary starts one too (needlessly, but truthfully).
 */
function epochOf(identity: WriterIdentity | undefined, candidate: string): string {
  if (identity === undefined) {
    return `local epoch = redis.call('HGET', KEYS[1], 'epoch')
local created = false
if not epoch then
  created = true
  epoch = ${candidate}
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0)
end`;
  }
  return `local writer = ${writerOf(identity)}
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'writer')
local epoch = meta[1]
if meta[2] ~= writer then epoch = false end
local created = false
if not epoch then
  created = true
  epoch = ${candidate}
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'offset', 0, 'writer', writer)
end`;
}

/** Reads position and entries in one step, creating the epoch if the channel has none yet. */
const readScript = (identity: WriterIdentity | undefined): string => `
${epochOf(identity, 'ARGV[1]')}
if created then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
local offset = tonumber(redis.call('HGET', KEYS[1], 'offset'))
local limit = tonumber(ARGV[5])
local entries = {}
if limit ~= 0 then
  if ARGV[3] ~= '' then
    if ARGV[4] == epoch then
      if limit > 0 then entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[3] .. '-0', '+', 'COUNT', limit)
      else entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[3] .. '-0', '+') end
    end
  elseif limit > 0 then entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', limit)
  else entries = redis.call('XREVRANGE', KEYS[2], '+', '-') end
end
return {offset, epoch, entries}
`;

/** A command client: one Redis (or one behind Sentinel), or a cluster. */
export type RedisCommands = Redis | Cluster;

type ScriptRedis = RedisCommands & {
  heraldHistory(numKeys: number, ...args: Array<string | number>): Promise<[number, string, Array<[string, string[]]>]>;
};

/**
 * History in Redis streams, shared by every process: any process can serve any recovery.
 *
 * Keys (names: engine/redis-keys.ts): `history-meta` (hash: offset, epoch, and the writer when
 * there is a writer identity), `history` (stream, entry id `<offset>-0`, field `d` = data JSON,
 * field `f` = the publishing connection when there is one), and the idempotency keys. On a cluster
 * they share the channel's slot, and publications go out with SPUBLISH to the channel of that same
 * slot. A missing meta hash (flushed, expired, deleted) means a new epoch, and the stream is
 * dropped with it.
 */
export class RedisHistory implements History {
  readonly #redis: ScriptRedis;
  readonly #keys: RedisKeys;
  readonly #publications: RedisPublishBatches;

  /** `identity`: how a failover is noticed (see WriterIdentity); unset on one Redis by URL. */
  constructor(redis: RedisCommands, keys: RedisKeys, identity?: WriterIdentity) {
    this.#publications = new RedisPublishBatches(redis, keys, identity === undefined ? undefined : writerOf(identity));
    redis.defineCommand('heraldHistory', { lua: readScript(identity) });
    this.#redis = redis as ScriptRedis;
    this.#keys = keys;
  }

  /**
   * Publishes `json` on `channel` (wire message `message` when there is no history) and records it
   * in history when `history` is set; an `idempotencyKey` seen on the channel within
   * IDEMPOTENCY_TTL_SECONDS makes it a no-op that returns the first publication's position.
   * Atomically with the history write: one script takes the next offset, appends to the stream and
   * PUBLISHes the message carrying `{"offset","epoch"}`, so offsets are strictly increasing across
   * processes and what subscribers receive is exactly what history holds. The publications of one
   * turn of the event loop share a script call (redis-publish-batch.ts).
   */
  publish(
    channel: string,
    json: string,
    message: string,
    from: string | undefined,
    history: HistoryOptions | undefined,
    idempotencyKey: string | undefined,
  ): Promise<HistoryPublishResult> {
    return this.#publications.publish(channel, json, message, from, history, idempotencyKey);
  }

  async read(channel: string, query: HistoryQuery = {}): Promise<HistoryPage> {
    const since = query.since;
    const [offset, epoch, entries] = await this.#redis
      .heraldHistory(
      2,
      this.#metaKey(channel),
      this.#streamKey(channel),
      newEpoch(),
      POSITION_TTL_SECONDS,
      since === undefined ? '' : since.offset,
      since === undefined ? '' : since.epoch,
        query.limit ?? -1,
      )
      .catch(unavailable);
    const publications = entries.map(([id, fields]): HistoryEntry => {
      const entry: HistoryEntry = { offset: Number.parseInt(id, 10), json: fields[1]! };
      if (fields.length > 2) entry.from = fields[3];
      return entry;
    });
    if (since === undefined) publications.reverse();
    return { position: { offset, epoch }, publications };
  }

  async remove(channel: string): Promise<void> {
    await this.#redis.del(this.#metaKey(channel), this.#streamKey(channel)).catch(unavailable);
  }

  #metaKey(channel: string): string {
    return this.#keys.channelKey(channel, 'history-meta');
  }

  #streamKey(channel: string): string {
    return this.#keys.channelKey(channel, 'history');
  }
}

/** Redis errors reach callers as the one error they can answer with (503 / an error reply). */
export function unavailable(error: unknown): never {
  throw new HeraldError(Errors.BROKER_UNAVAILABLE, undefined, { cause: error });
}
