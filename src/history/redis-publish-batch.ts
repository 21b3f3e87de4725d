import { randomFillSync } from 'node:crypto';
import { ReplyError, type Cluster, type Redis } from 'ioredis';
import type { HistoryOptions } from '../channels/namespace.ts';
import { clusterSlot } from '../engine/cluster-slot.ts';
import type { RedisKeys } from '../engine/redis-keys.ts';
import { IDEMPOTENCY_TTL_SECONDS, POSITION_TTL_SECONDS, type StreamPosition } from './history.ts';
import type { RedisCommands } from './redis-history.ts';

export interface HistoryPublishResult {
  reached: number;
  position: StreamPosition | undefined;
  duplicate: boolean;
}

/**
 * ARGV fields per publication, after the idempotency TTL and the key names (on a cluster): how many
 * keys it has (2, or 3 with an idempotency key), the Redis channel, the data (JSON with history, the whole
 * wire message without), the `,"from":…` part of its meta, history size (0: no history), history
 * lifetime and position lifetime (ms, PEXPIRE), the candidate epoch, the publishing connection, and
 * whether to renew the two lifetimes ('1') or only if the keys were just created ('0').
 */
const FIELDS = 10;

/**
 * A channel's expiry is renewed at most once per this share of its history TTL by each process
 * (RENEW_SHARE 20: every 15 s for the default 300 s), and set that much longer, so a publication is
 * still kept at least `ttlSeconds` after the channel's last one, and at most 5% longer. A channel
 * publishing more often than that costs Redis 4 commands per publication instead of 6.
 */
const RENEW_SHARE = 20;
/** How often the renewal times of channels are swept for ones long past. */
const RENEWALS_SWEEP_MS = 60_000;

/**
 * A script call holds Redis for its whole run: this many publications keep one call to a few
 * milliseconds, and a busier turn is sent as several calls (in order).
 */
const MAX_BATCH = 256;

/**
 * The publications of one turn of the event loop, in order, as ONE script call per Redis (each
 * primary of a cluster). Per publication it
 * does what one publication did alone (idempotency check, epoch, HINCRBY, XADD, the two PEXPIREs when due,
 * PUBLISH / SPUBLISH), but Redis parses, dispatches and answers one command instead of many, and
 * reads the writer identity (CLUSTER MYID, INFO replication) once per call instead of once per
 * publication. Each publication runs under its own `pcall`, so a failing one (a key of the wrong
 * type, out of memory) fails alone, as it did when it was its own script call.
 *
 * Keys per publication: `history-meta`, `history`, and the idempotency key when there is one (see
 * redis-history.ts for what they hold). On one Redis they are declared (KEYS). On a cluster a
 * script's declared keys must share one slot, while one primary serves thousands: there the call
 * declares only the first publication's meta key, which routes it to the primary that owns it, and
 * names every key in ARGV (ARGV[2] says how many), which `allow-cross-slot-keys` lets it use as long
 * as this primary serves their slots. A publication whose slot has moved elsewhere since the client
 * last read the slot map fails alone, before it touches anything ("non local key"), and is answered
 * not published.
 */
const publishBatchScript = (publish: 'PUBLISH' | 'SPUBLISH', writer: string | undefined): string => `${
  publish === 'SPUBLISH' ? '#!lua flags=allow-cross-slot-keys\n' : ''
}local writer
local function epochOf(meta, stream, candidate)
${
  writer === undefined
    ? `  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = candidate
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
    return epoch, true
  end
  return epoch, false`
    : `  if writer == nil then writer = ${writer} end
  local held = redis.call('HMGET', meta, 'epoch', 'writer')
  local epoch = held[1]
  if held[2] ~= writer then epoch = false end
  if not epoch then
    epoch = candidate
    redis.call('DEL', stream)
    redis.call('HSET', meta, 'epoch', epoch, 'offset', 0, 'writer', writer)
    return epoch, true
  end
  return epoch, false`
}
end
local function publishOne(meta, stream, seen, a)
  if seen then
    local prior = redis.call('GET', seen)
    if prior then
      if prior == '' then return {0, '', 0, 1} end
      local sep = string.find(prior, ':', 1, true)
      return {tonumber(string.sub(prior, 1, sep - 1)), string.sub(prior, sep + 1), 0, 1}
    end
  end
  local wire, data = ARGV[a + 2], ARGV[a + 3]
  if ARGV[a + 5] == '0' then
    local reached = redis.call('${publish}', wire, data)
    if seen then redis.call('SET', seen, '', 'EX', ARGV[1]) end
    return {0, '', reached, 0}
  end
  local epoch, renew = epochOf(meta, stream, ARGV[a + 8])
  if ARGV[a + 10] == '1' then renew = true end
  local offset = redis.call('HINCRBY', meta, 'offset', 1)
  local entry = {'MAXLEN', '~', ARGV[a + 5], offset .. '-0', 'd', data}
  if ARGV[a + 9] ~= '' then entry[7] = 'f'; entry[8] = ARGV[a + 9] end
  -- Without a renewal the stream must exist already: one made now (deleted while its position
  -- stayed, e.g. dropped by a read that started a new epoch) gets its expiry here.
  if renew or not redis.call('XADD', stream, 'NOMKSTREAM', unpack(entry)) then
    redis.call('XADD', stream, unpack(entry))
    redis.call('PEXPIRE', stream, ARGV[a + 6])
    redis.call('PEXPIRE', meta, ARGV[a + 7])
  end
  local reached = redis.call('${publish}', wire, 'herald1 {"offset":' .. offset .. ',"epoch":"' .. epoch .. '"' .. ARGV[a + 4] .. '}\\n' .. data)
  if seen then redis.call('SET', seen, offset .. ':' .. epoch, 'EX', ARGV[1]) end
  return {offset, epoch, reached, 0}
end
local out = {}
local K = KEYS
local named = tonumber(ARGV[2])
if named > 0 then
  K = {}
  for i = 1, named do K[i] = ARGV[2 + i] end
end
local k = 0
for i = 1, (#ARGV - 2 - named) / ${FIELDS} do
  local a = 2 + named + (i - 1) * ${FIELDS}
  local seen = nil
  if ARGV[a + 1] == '3' then seen = K[k + 3] end
  local ok, result = pcall(publishOne, K[k + 1], K[k + 2], seen, a)
  k = k + tonumber(ARGV[a + 1])
  if ok then out[i] = result
  elseif type(result) == 'table' and result.err then out[i] = result.err
  else out[i] = tostring(result) end
end
return out
`;

type BatchRedis = RedisCommands & {
  heraldPublishBatch(...args: Array<string | number>): Promise<Array<[number, string, number, number] | string>>;
};

/**
 * A batch refused before anything was written: its connection closed during the turn it was
 * collected in. Nothing of it can have run, unlike a command rejected after the connection closed
 * with it in flight, which ioredis reports the same way ("Connection is closed.").
 */
export class NotWrittenError extends Error {
  constructor() {
    super('the connection to Redis closed before the publication was sent');
  }
}

interface Waiter {
  resolve(result: HistoryPublishResult): void;
  reject(error: unknown): void;
}

/** The publications for one Redis (one primary of a cluster) waiting for the end of the turn. */
class Batch {
  readonly keys: string[] = [];
  readonly fields: Array<string | number> = [];
  readonly waiters: Waiter[] = [];
  /** Per publication that renews its channel's expiry: the meta key and how long the renewal lasts (ms). */
  readonly renewals: Array<[meta: string, forMs: number] | undefined> = [];
  /** Whether any publication needs the script (history or an idempotency key): if not, bare PUBLISHes. */
  scripted = false;
}

/**
 * Collects the publications made in one turn of the event loop and sends them per Redis at its end
 * (setImmediate, as ioredis' auto-pipelining does). Every publication goes through here, kept or
 * not, so publications on one channel reach Redis in the order they were made. Each caller gets its
 * own outcome: a publication that fails inside the script is rejected alone with Redis' error
 * reply; a call that fails (not written, no reply) rejects all of its publications with that error,
 * which the broker tells apart (redis-publish.ts).
 *
 * The command connection must not auto-pipeline `heraldPublishBatch`, `publish` or `spublish`: they
 * are already batched, and auto-pipelining would hold them until the next turn.
 */
export class RedisPublishBatches {
  static readonly commands = ['heraldPublishBatch', 'publish', 'spublish'];
  readonly #redis: BatchRedis;
  readonly #keys: RedisKeys;
  readonly #cluster: boolean;
  #open = new Map<string, Batch>();
  #scheduled = false;
  /** Per channel (meta key): until when this process need not renew its expiry. */
  readonly #renewedUntil = new Map<string, number>();
  #sweepRenewalsAt = Date.now() + RENEWALS_SWEEP_MS;

  /** `writer`: the Lua expression of the writer identity (redis-history.ts), if there is one. */
  constructor(redis: RedisCommands, keys: RedisKeys, writer: string | undefined) {
    redis.defineCommand('heraldPublishBatch', { lua: publishBatchScript(keys.publishCommand, writer) });
    this.#redis = redis as BatchRedis;
    this.#keys = keys;
    this.#cluster = keys.publishCommand === 'SPUBLISH';
  }

  publish(
    channel: string,
    json: string,
    message: string,
    from: string | undefined,
    history: HistoryOptions | undefined,
    idempotencyKey: string | undefined,
  ): Promise<HistoryPublishResult> {
    const meta = this.#keys.channelKey(channel, 'history-meta');
    const group = this.#cluster ? this.#nodesOf(meta) : '';
    let batch = this.#open.get(group);
    if (batch === undefined) {
      batch = new Batch();
      this.#open.set(group, batch);
    }
    batch.keys.push(meta, this.#keys.channelKey(channel, 'history'));
    if (idempotencyKey !== undefined) batch.keys.push(this.#keys.idempotencyKey(channel, idempotencyKey));
    if (history !== undefined || idempotencyKey !== undefined) batch.scripted = true;
    let renewal: [string, number] | undefined;
    let historyMs = 0;
    let positionMs = 0;
    if (history !== undefined) {
      const forMs = Math.floor((history.ttlSeconds * 1000) / RENEW_SHARE);
      historyMs = history.ttlSeconds * 1000 + forMs;
      positionMs = Math.max(history.ttlSeconds, POSITION_TTL_SECONDS) * 1000 + forMs;
      const until = this.#renewedUntil.get(meta);
      if (until === undefined || until <= Date.now()) renewal = [meta, forMs];
    }
    batch.renewals.push(renewal);
    batch.fields.push(
      idempotencyKey === undefined ? 2 : 3,
      this.#keys.wire(channel),
      history === undefined ? message : json,
      from === undefined ? '' : `,"from":${JSON.stringify(from)}`,
      history === undefined ? 0 : history.size,
      historyMs,
      positionMs,
      history === undefined ? '' : newEpoch(),
      from ?? '',
      renewal === undefined ? '0' : '1',
    );
    const result = new Promise<HistoryPublishResult>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.waiters.length >= MAX_BATCH) {
      this.#open.delete(group);
      this.#send(batch);
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return result;
  }

  /**
   * The nodes that serve `key` (primary first), as the client's slot map says: ioredis routes the
   * call by it too, and takes a pipeline only when all its slots have the same nodes.
   */
  #nodesOf(key: string): string {
    const slot = clusterSlot(key);
    return (this.#redis as Cluster).slots[slot]?.join(',') ?? `slot ${slot}`;
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const now = Date.now();
    if (now >= this.#sweepRenewalsAt) {
      this.#sweepRenewalsAt = now + RENEWALS_SWEEP_MS;
      for (const [meta, until] of this.#renewedUntil) if (until <= now) this.#renewedUntil.delete(meta);
    }
    const open = this.#open;
    this.#open = new Map();
    for (const batch of open.values()) this.#send(batch);
  };

  #send(batch: Batch): void {
    const { waiters } = batch;
    if (!this.#cluster && (this.#redis as Redis).status !== 'ready') {
      const error = new NotWrittenError();
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    if (!batch.scripted) {
      this.#sendBare(batch);
      return;
    }
    const { keys, fields, renewals } = batch;
    // Taken before the call is sent: Redis renews no earlier than this, so a renewal counts from here.
    const sentAt = Date.now();
    const call = this.#cluster
      ? this.#redis.heraldPublishBatch(1, keys[0]!, IDEMPOTENCY_TTL_SECONDS, keys.length, ...keys, ...fields)
      : this.#redis.heraldPublishBatch(keys.length, ...keys, IDEMPOTENCY_TTL_SECONDS, 0, ...fields);
    call.then(
      (replies) => {
        for (let i = 0; i < waiters.length; i++) {
          const reply = replies[i];
          if (typeof reply === 'string' || reply === undefined) {
            waiters[i]!.reject(new ReplyError(reply ?? 'no reply for this publication'));
            continue;
          }
          const [offset, epoch, reached, duplicate] = reply;
          const renewal = renewals[i];
          // A duplicate returned before anything was written, renewals included.
          if (renewal !== undefined && duplicate !== 1) this.#renewedUntil.set(renewal[0], sentAt + renewal[1]);
          waiters[i]!.resolve({ reached, duplicate: duplicate === 1, position: epoch === '' ? undefined : { offset, epoch } });
        }
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }

  /** Publications without history or idempotency key: bare PUBLISHes, pipelined in one write. */
  #sendBare(batch: Batch): void {
    const { waiters, fields } = batch;
    const command = this.#keys.publishCommand === 'PUBLISH' ? 'publish' : 'spublish';
    const settle = (waiter: Waiter, reached: number): void => waiter.resolve({ reached, duplicate: false, position: undefined });
    if (waiters.length === 1) {
      (this.#redis[command](fields[1] as string, fields[2] as string) as Promise<number>).then(
        (reached) => settle(waiters[0]!, reached),
        (error: unknown) => waiters[0]!.reject(error),
      );
      return;
    }
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < waiters.length; i++) pipeline[command](fields[1 + i * FIELDS] as string, fields[2 + i * FIELDS] as string);
    pipeline.exec().then(
      (replies) => {
        for (let i = 0; i < waiters.length; i++) {
          const [error, reached] = replies?.[i] ?? [new Error('no reply for this publication')];
          if (error) waiters[i]!.reject(error);
          else settle(waiters[i]!, reached as number);
        }
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}

/**
 * A candidate epoch goes with every kept publication (the script uses it only when the channel's
 * history is gone), so candidates are cut from a pool of random bytes refilled every 256
 * publications: one randomBytes call per publication was about 5% of a busy server's CPU in the
 * many-channels bench.
 */
const EPOCH_BYTES = 6;
const epochPool = Buffer.alloc(EPOCH_BYTES * 256);
let epochPoolUsed = epochPool.length;

export function newEpoch(): string {
  if (epochPoolUsed === epochPool.length) {
    randomFillSync(epochPool);
    epochPoolUsed = 0;
  }
  epochPoolUsed += EPOCH_BYTES;
  return epochPool.toString('base64url', epochPoolUsed - EPOCH_BYTES, epochPoolUsed);
}
