import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { cpuMs, freePort, LOAD_CPU, spawnPinned, type PinnedChild } from './children.ts';

export interface BenchRedis {
  url: string;
  /**
   * The redis-server process, when it runs on this machine (the bench's own, or a local
   * `--redis-url`): its CPU is work done for the target, and is counted next to the server's.
   */
  pid: number | undefined;
  /** CPU time (user + system) the redis-server has used so far, in ms; NaN when it is not local. */
  cpuMs(): number;
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
  let admin: Redis;
  if (url === undefined) ({ child, url, admin } = await startOwnRedis());
  else {
    // Retries (every 100 ms for 10 s) cover a Redis that is still starting.
    admin = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: (n) => (n > 100 ? null : 100) });
    admin.on('error', () => {});
    await admin.ping();
  }
  // Redis reports its own pid; /proc says whether that process is on this machine.
  const pid = Number(/^process_id:(\d+)\r?$/m.exec(await admin.info('server'))?.[1]);
  const localPid = Number.isInteger(pid) && existsSync(`/proc/${pid}/stat`) ? pid : undefined;
  return {
    url,
    pid: localPid,
    cpuMs: () => (localPid === undefined ? Number.NaN : cpuMs(localPid)),
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

/**
 * Redis cannot bind port 0, so a free port is picked first and may be taken by another program
 * before redis-server binds it. The shell prints redis-server's pid and exits with it, so a lost
 * race is seen (the shell exits) and a stranger on the port is never mistaken for ours (its
 * `process_id` differs): either way, try again with a fresh port.
 */
async function startOwnRedis(): Promise<{ child: PinnedChild; url: string; admin: Redis }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // The background `cat` waits on stdin (fd 3: a background job's own stdin is /dev/null), so that redis-server dies with the bench even after a SIGKILL.
    const child = spawnPinned(LOAD_CPU, 'sh', [
      '-c',
      `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no --loglevel warning --maxclients 10000 & pid=$!; echo "redis-pid $pid"; exec 3<&0; (cat <&3 >/dev/null; kill $pid) & wait $pid`,
    ], { stopsOnStdinEnd: true });
    const url = `redis://127.0.0.1:${port}`;
    let exited = false;
    void child.exited.then(() => (exited = true));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      const pid = /^redis-pid (\d+)$/m.exec(child.output())?.[1];
      const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => {});
      try {
        await admin.connect();
        if (pid !== undefined && new RegExp(`^process_id:${pid}\\r?$`, 'm').test(await admin.info('server'))) return { child, url, admin };
      } catch {
        // not listening yet
      }
      admin.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await child.stop();
    // A shell that exited on its own leaves its `cat` holding the pipe: end it.
    child.child.stdin?.destroy();
    if (attempt === 5) throw new Error(`the bench's redis-server did not start:\n${child.output()}`);
  }
}
