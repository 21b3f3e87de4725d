import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './redis-server.ts';

const running = new Set<PrivateSentinels>();
let exitHookInstalled = false;

/**
 * A private Redis with Sentinel for tests: one primary, one replica and three Sentinels
 * (`redis-server --sentinel` with a config file each) on free ports, in a temporary directory. The
 * Sentinels watch the primary under the name `herald` and promote the replica about
 * `downAfterMs` after the primary dies. `stop()` kills everything (an exit hook does too). It never
 * touches the Redis on 6379.
 */
export class PrivateSentinels {
  static readonly NAME = 'herald';
  readonly #root: string;
  readonly #children = new Map<number, ChildProcess>();
  readonly dataPorts: number[];
  readonly sentinelPorts: number[];

  private constructor(root: string, dataPorts: number[], sentinelPorts: number[]) {
    this.#root = root;
    this.dataPorts = dataPorts;
    this.sentinelPorts = sentinelPorts;
  }

  static async start(options: { downAfterMs?: number } = {}): Promise<PrivateSentinels> {
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const set of running) set.killNow();
      });
    }
    const root = await mkdtemp(join(tmpdir(), 'herald-sentinel-'));
    const ports: number[] = [];
    while (ports.length < 5) {
      const port = await freePort();
      if (port !== 6379 && !ports.includes(port)) ports.push(port);
    }
    const set = new PrivateSentinels(root, ports.slice(0, 2), ports.slice(2));
    running.add(set);
    try {
      const [primary, replica] = set.dataPorts as [number, number];
      // In the temporary directory: a replica's first sync writes an RDB file where the server runs.
      await set.#spawn(primary, ['--port', String(primary), '--bind', '127.0.0.1', '--dir', root, '--dbfilename', 'primary.rdb', '--save', '', '--appendonly', 'no']);
      await set.#spawn(replica, ['--port', String(replica), '--bind', '127.0.0.1', '--dir', root, '--dbfilename', 'replica.rdb', '--save', '', '--appendonly', 'no', '--replicaof', '127.0.0.1', String(primary)]);
      for (const port of set.sentinelPorts) {
        const file = join(root, `sentinel-${port}.conf`);
        await writeFile(
          file,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${root}`,
            `sentinel monitor ${PrivateSentinels.NAME} 127.0.0.1 ${primary} 2`,
            `sentinel down-after-milliseconds ${PrivateSentinels.NAME} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${PrivateSentinels.NAME} 10000`,
            `sentinel parallel-syncs ${PrivateSentinels.NAME} 1`,
            '',
          ].join('\n'),
        );
        await set.#spawn(port, [file, '--sentinel']);
      }
      await set.#waitReplicaInSync(replica);
      await set.waitPrimaryKnown(primary);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  /** `host:port` of each Sentinel, for REDIS_SENTINELS. */
  get sentinelsSetting(): string[] {
    return this.sentinelPorts.map((port) => `127.0.0.1:${port}`);
  }

  async #spawn(port: number, args: string[]): Promise<void> {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'ignore'] });
    this.#children.set(port, child);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`redis-server on ${port} exited (${child.exitCode ?? child.signalCode})`);
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        if (new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(await probe.info('server'))) return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Waits until the replica's link to the primary is up and its first sync is done. */
  async #waitReplicaInSync(port: number): Promise<void> {
    const replica = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    replica.on('error', () => {});
    const deadline = Date.now() + 30_000;
    try {
      for (;;) {
        const info = await replica.info('replication');
        if (/master_link_status:up/.test(info) && /master_sync_in_progress:0/.test(info)) return;
        if (Date.now() > deadline) throw new Error(`replica ${port} did not sync:\n${info}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      replica.disconnect();
    }
  }

  /** The primary's port as the first Sentinel reports it. */
  async primary(): Promise<number> {
    const sentinel = new Redis(this.sentinelPorts[0]!, '127.0.0.1', { maxRetriesPerRequest: 1 });
    sentinel.on('error', () => {});
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', PrivateSentinels.NAME)) as [string, string];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  /** Waits until every Sentinel names `port` as the primary and sees the replica and the other Sentinels. */
  async waitPrimaryKnown(port: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let agreed = true;
      for (const sentinelPort of this.sentinelPorts) {
        const sentinel = new Redis(sentinelPort, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        sentinel.on('error', () => {});
        try {
          await sentinel.connect();
          const master = (await sentinel.call('SENTINEL', 'MASTER', PrivateSentinels.NAME)) as string[];
          const field = (name: string): string | undefined => master[master.indexOf(name) + 1];
          if (field('port') !== String(port) || field('num-other-sentinels') !== '2' || field('num-slaves') === '0' || /down/.test(field('flags') ?? '')) agreed = false;
        } catch {
          agreed = false;
        } finally {
          sentinel.disconnect();
        }
      }
      if (agreed) return;
      if (Date.now() > deadline) throw new Error(`the Sentinels did not agree on primary ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Kills the Redis (or Sentinel) on `port` at once, as a crash would. */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  killNow(): void {
    for (const child of this.#children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    running.delete(this);
    await Promise.all([...this.#children.keys()].map((port) => this.kill(port)));
    await rm(this.#root, { recursive: true, force: true });
  }
}
