/**
 * Where Herald keeps things in Redis: the Pub/Sub channel of a Herald channel, the keys that belong
 * to one channel (history, offset and epoch, idempotency keys, presence), and keys of the whole
 * deployment (the node directory, the task and schedule queues).
 *
 * On one Redis (and behind Sentinel) the names are the documented ones: Redis channel
 * `<prefix><channel>`, keys `<prefix><kind>:<channel>`. On a Redis Cluster every key of a channel
 * carries `<prefix><channel>` as its hash tag, `{herald:news}:history`, so it lives in the slot of
 * the Redis channel `herald:news` itself: the publish script (keys and SPUBLISH together) runs on
 * the one shard that owns the channel, and the wire channel stays what other programs already
 * publish to. Keys of the whole deployment share one hash tag, `{<prefix>…}`, so their scripts and
 * BullMQ's run on one shard.
 */
export interface RedisKeys {
  /** `PUBLISH` on one Redis, `SPUBLISH` (sharded Pub/Sub) on a cluster. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** The Redis channel of Herald channel `channel`. */
  wire(channel: string): string;
  /** Key `kind` of `channel` (`history`, `history-meta`, `presence`, `presence-expiry`, or a feature's own). */
  channelKey(channel: string, kind: string): string;
  /** Where idempotency key `key` of `channel` is remembered. */
  idempotencyKey(channel: string, key: string): string;
  /** The node directory's index, and the prefix of each node's key. */
  readonly nodeIndex: string;
  readonly nodeKeyPrefix: string;
  /** BullMQ's prefix for the task queue and the schedule queues. */
  readonly queuePrefix: string;
}

export function singleRedisKeys(prefix: string): RedisKeys {
  return {
    publishCommand: 'PUBLISH',
    wire: (channel) => prefix + channel,
    channelKey: (channel, kind) => `${prefix}${kind}:${channel}`,
    // The length makes the split between channel and key unambiguous: without it, key `b:k` on `a`
    // and key `k` on `a:b` were one key, and one client could suppress another channel's publications.
    idempotencyKey: (channel, key) => `${prefix}idempotency:${channel.length}:${channel}:${key}`,
    nodeIndex: `${prefix}nodes`,
    nodeKeyPrefix: `${prefix}node:`,
    queuePrefix: `${prefix}bull`,
  };
}

/** `prefix` must not contain braces (config.ts checks): the hash tag would end early. */
export function clusterKeys(prefix: string): RedisKeys {
  const tag = (channel: string): string => `{${prefix}${channel}}`;
  return {
    publishCommand: 'SPUBLISH',
    wire: (channel) => prefix + channel,
    channelKey: (channel, kind) => `${tag(channel)}:${kind}`,
    // The channel is closed by its brace: no length is needed to keep channel and key apart.
    idempotencyKey: (channel, key) => `${tag(channel)}:idempotency:${key}`,
    nodeIndex: `{${prefix}nodes}:index`,
    nodeKeyPrefix: `{${prefix}nodes}:node:`,
    // BullMQ builds `<prefix>:<queue>:<key>`: one tag for every queue (BullMQ's advice for clusters).
    queuePrefix: `{${prefix}bull}`,
  };
}
