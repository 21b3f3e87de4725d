import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Publisher } from '../channels/publisher.ts';
import type { SubscriberRegistry } from '../channels/subscriber-registry.ts';
import type { ResolvedOptions } from '../config.ts';
import type { InFlight } from '../in-flight.ts';
import type { TaskRegistry } from '../tasks/task-registry.ts';
import type { Tasks } from '../tasks/tasks.ts';
import { pusherWebhookTargets } from '../pusher/pusher-webhooks.ts';
import { ChannelEvents } from '../webhooks/channel-events.ts';
import type { DeadLetters } from '../webhooks/dead-letters.ts';
import { heraldTarget } from '../webhooks/webhook-target.ts';
import { WEBHOOK_TASK, Webhooks, type StartTask } from '../webhooks/webhooks.ts';
import { PrivateMessages } from './private-messages.ts';
import { OFFLINE_CHECK_TASK, UserActivity } from './user-activity.ts';
import { createUserStores } from './user-stores.ts';

/** What the users features need from the server that hosts them. */
export interface UserFeaturesHost {
  options: ResolvedOptions;
  /** The broker's command connection with Redis; undefined with the embedded broker. */
  redis: Redis | Cluster | undefined;
  publisher: Publisher;
  registry: SubscriberRegistry;
  taskRegistry: TaskRegistry;
  tasks: Tasks;
  /** This process's id in the cluster (its connections' id prefix). */
  process: string;
  /** Writes shutdown waits for before it closes Redis. */
  writes: InFlight;
  log: FastifyBaseLogger;
}

/** Online status, inboxes and webhooks, wired together (docs/users.md). */
export interface UserFeatures {
  webhooks: Webhooks;
  activity: UserActivity;
  messages: PrivateMessages;
  deadLetters: DeadLetters;
  /**
   * Calls `listener` when a channel gets its first subscriber anywhere in the cluster or loses its
   * last, on the one process that is to report it (server-internal `#` channels excepted).
   * Occupancy is followed only once something asks for it, here or by wanting the webhooks.
   */
  onChannelOccupancy(listener: (channel: string, occupied: boolean) => void): void;
  close(): Promise<void>;
}

/**
 * Builds the users features on a server: their stores (memory or Redis, users/user-stores.ts), the
 * built-in tasks that deliver webhooks and check departures, and the channel events when an
 * endpoint wants them.
 */
export function createUserFeatures(host: UserFeaturesHost): UserFeatures {
  const o = host.options;
  const stores = createUserStores(host.redis, { prefix: o.redisPrefix, ttlMs: o.presenceTtlMs, inbox: { maxMessages: o.inboxMaxMessages, maxAgeMs: o.inboxMaxAgeMs } });
  const startTask: StartTask = (name, args, options) => host.tasks.start(name, args, options);
  // Herald's endpoints and the Pusher apps' share one delivery: queue, retries, dead letters.
  const targets = [...(o.webhooks ?? []).map(heraldTarget), ...pusherWebhookTargets(o.pusherApps ?? [])];
  const webhooks = new Webhooks({ targets, deadLetters: stores.deadLetters, startTask, retryForMs: o.webhookRetryForMs, log: host.log });
  host.taskRegistry.define(WEBHOOK_TASK, webhooks.deliver, { timeoutMs: 30_000 });
  const activity = new UserActivity({
    status: stores.onlineStatus,
    publish: (channel, data) => host.publisher.publish(channel, data, undefined, { reserved: true }),
    webhooks,
    startTask,
    offlineDelayMs: o.webhookOfflineDelayMs,
    writes: host.writes,
    log: host.log,
  });
  host.taskRegistry.define(OFFLINE_CHECK_TASK, activity.offlineCheck, { timeoutMs: 30_000 });
  let channelEvents: ChannelEvents | undefined;
  const channelOccupancy = (): ChannelEvents => {
    if (channelEvents !== undefined) return channelEvents;
    channelEvents = new ChannelEvents(stores.channelOccupancy, host.process, webhooks, host.writes, host.log);
    host.registry.onAcquire(channelEvents.acquired);
    host.registry.onRelease(channelEvents.released);
    return channelEvents;
  };
  if (webhooks.wants('channel.occupied') || webhooks.wants('channel.vacated')) channelOccupancy();
  return {
    webhooks,
    activity,
    messages: new PrivateMessages(host.publisher, stores.inbox, webhooks, o.inboxStore),
    deadLetters: stores.deadLetters,
    onChannelOccupancy: (listener) => channelOccupancy().onChange(listener),
    close: async () => {
      await Promise.all([stores.onlineStatus.close(), stores.channelOccupancy.close(), stores.inbox.close()]);
    },
  };
}
