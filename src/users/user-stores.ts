import type { Cluster, Redis } from 'ioredis';
import { MemoryDeadLetters, RedisDeadLetters, type DeadLetters } from '../webhooks/dead-letters.ts';
import type { Inbox, InboxLimits } from './inbox.ts';
import { MemoryInbox } from './memory-inbox.ts';
import { MemoryOnlineStatus } from './memory-online-status.ts';
import type { OnlineStatus } from './online-status.ts';
import { RedisInbox } from './redis-inbox.ts';
import { RedisOnlineStatus } from './redis-online-status.ts';

/** Where the users features keep their state: in memory for one process, or in Redis for a cluster. */
export interface UserStores {
  /** Users with a connection open (members: connection ids). */
  onlineStatus: OnlineStatus;
  /** Channels with a subscriber somewhere (members: process ids), for channel.occupied/vacated. */
  channelOccupancy: OnlineStatus;
  inbox: Inbox;
  deadLetters: DeadLetters;
}

/**
 * The one place the users features choose between memory and Redis: `redis` is the broker's
 * command connection (undefined with the embedded broker). `ttlMs` is the presence TTL: how long a
 * dead process's connections still count.
 */
export function createUserStores(redis: Redis | Cluster | undefined, options: { prefix: string; ttlMs: number; inbox: InboxLimits }): UserStores {
  if (redis === undefined) {
    return { onlineStatus: new MemoryOnlineStatus(), channelOccupancy: new MemoryOnlineStatus(), inbox: new MemoryInbox(options.inbox), deadLetters: new MemoryDeadLetters() };
  }
  return {
    onlineStatus: new RedisOnlineStatus(redis, options.prefix, 'user', options.ttlMs),
    channelOccupancy: new RedisOnlineStatus(redis, options.prefix, 'channel', options.ttlMs),
    inbox: new RedisInbox(redis, options.prefix, options.inbox),
    deadLetters: new RedisDeadLetters(redis, options.prefix),
  };
}
