import { Redis } from 'ioredis';
import { freePort, LOAD_CPU, spawnPinned, type PinnedChild } from './children.ts';

export interface BenchRedis {
  url: string;
  /** Calls of each command since start (`INFO commandstats`), e.g. `{ subscribe: 3 }`. */
  commandCalls(): Promise<Record<string, number>>;
  /** Channels with at least one subscriber whose name starts with `prefix`. */
  channelCount(prefix: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The bench's own Redis, pinned to the load generators' CPU (as in the field notes' harness):
 * its command counts are exact (no other program uses it), and the shared Redis on 6379 that
 * other engineers' tests use is left alone. `--redis-url` uses an existing Redis instead.
 */
export async function startBenchRedis(existingUrl?: string): Promise<BenchRedis> {
  let child: PinnedChild | undefined;
  let url = existingUrl;
  if (url === undefined) {
    const port = await freePort();
    // The shell waits on stdin so that redis-server dies with the bench even after a SIGKILL.
    child = spawnPinned(LOAD_CPU, 'sh', [
      '-c',
      `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no --loglevel warning --maxclients 10000 & pid=$!; cat >/dev/null; kill $pid`,
    ], { stopsOnStdinEnd: true });
    url = `redis://127.0.0.1:${port}`;
  }
  // Retries (every 100 ms for 10 s) cover the moment redis-server takes to start listening.
  const admin = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => (n > 100 ? null : 100) });
  admin.on('error', () => {});
  await admin.ping();
  return {
    url,
    async commandCalls() {
      const info = await admin.info('commandstats');
      const calls: Record<string, number> = {};
      for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls[match[1]!] = Number(match[2]);
      return calls;
    },
    async channelCount(prefix: string) {
      const channels = (await admin.pubsub('CHANNELS', `${prefix}*`)) as string[];
      return channels.length;
    },
    async close() {
      admin.disconnect();
      if (child !== undefined) {
        await child.stop();
      }
    },
  };
}
