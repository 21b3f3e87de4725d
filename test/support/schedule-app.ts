import { Cluster, Redis } from 'ioredis';
import { hostPort } from '../../src/engine/redis-connection.ts';
import type { Herald } from '../../src/herald.ts';

/** The list the `gated` schedule's handlers write to: `started <tick ms> <pid>`, `completed <tick ms> <pid>`. */
export function scheduleEventsKey(prefix: string): string {
  return `${prefix}schedule-events`;
}

/** Pushing anything to this list lets the handler running tick `tickMs` finish. */
export function scheduleReleaseKey(prefix: string, tickMs: number): string {
  return `${prefix}schedule-release:${tickMs}`;
}

/**
 * One schedule, `gated`, every `everyMs`: its handler records that it started, waits until the test
 * releases that tick (at most 20 s), and records that it completed, each in Redis, naming this
 * process. Run as a process of its own by schedule-server.ts.
 */
export function installScheduleTestApp(herald: Herald, everyMs: number): void {
  const nodes = herald.options.redisClusterNodes;
  // The test's own connections, on one Redis or on the cluster Herald uses.
  const connect = (): Redis | Cluster => (nodes === undefined ? new Redis(herald.options.redisUrl!) : new Cluster(nodes.map(hostPort)));
  const prefix = herald.options.redisPrefix;
  const events = connect();
  herald.schedule('gated', { everyMs }, async (tick) => {
    const ms = tick.time.getTime();
    await events.rpush(scheduleEventsKey(prefix), `started ${ms} ${process.pid}`);
    // BLPOP blocks its connection: one of its own per run.
    const waiting = connect();
    try {
      await waiting.blpop(scheduleReleaseKey(prefix, ms), 20);
    } finally {
      waiting.disconnect();
    }
    await events.rpush(scheduleEventsKey(prefix), `completed ${ms} ${process.pid}`);
  });
}
