import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { cpuMs, freePort, LOAD_CPU, sleep, spawnPinned, type PinnedChild } from './children.ts';

const run = promisify(execFile);

/** One node of the bench's cluster: its port, and the pid of its redis-server (for /proc). */
export interface BenchClusterNode {
  port: number;
  pid: number;
}

export interface BenchRedisCluster {
  /** `host:port,…` for REDIS_CLUSTER_NODES. */
  nodes: string;
  /** The primaries as the cluster sees them now (3). */
  primaries(): Promise<BenchClusterNode[]>;
  /** CPU time of each primary so far, in ms, keyed by port. */
  primaryCpuMs(): Promise<Map<number, number>>;
  close(): Promise<void>;
}

/**
 * The bench's own Redis Cluster: 3 primaries and 3 replicas (6 `redis-server --cluster-enabled yes`
 * on free ports, joined by `redis-cli --cluster create`), pinned to the load generators' CPU like
 * the bench's single Redis, never on 6379. Replicas are there because a deployment has them: the
 * replication stream is part of what a primary spends per publication. No persistence: the bench
 * measures Pub/Sub and scripts, not disks.
 */
export async function startBenchRedisCluster(): Promise<BenchRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-cluster-'));
  const children: PinnedChild[] = [];
  const nodes: BenchClusterNode[] = [];
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  // Ctrl-C ends the bench with process.exit: the nodes die with their pipes, the directory here.
  process.once('exit', removeDir);
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
    removeDir();
    process.off('exit', removeDir);
  };
  try {
    while (nodes.length < 6) {
      const port = await freePort();
      // The cluster bus listens on port + 10000.
      if (port === 6379 || port + 10000 > 65535 || nodes.some((n) => n.port === port)) continue;
      const started = await startNode(port, dir);
      if (started === undefined) continue;
      children.push(started.child);
      nodes.push({ port, pid: started.pid });
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    await waitHealthy(nodes);
  } catch (error) {
    await stop();
    throw error;
  }
  const primaries = async (): Promise<BenchClusterNode[]> => {
    const text = await command(nodes[0]!.port, 'CLUSTER', 'NODES');
    const ports = text
      .split('\n')
      .filter((line) => /[ ,]master /.test(line) && !/fail/.test(line) && /\d+-\d+/.test(line))
      .map((line) => Number(/:(\d+)@/.exec(line)![1]));
    return nodes.filter((n) => ports.includes(n.port));
  };
  return {
    nodes: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    primaries,
    async primaryCpuMs() {
      return new Map((await primaries()).map((n) => [n.port, cpuMs(n.pid)]));
    },
    close: stop,
  };
}

/** Starts one node; undefined when another program took the port first (then try another). */
async function startNode(port: number, root: string): Promise<{ child: PinnedChild; pid: number } | undefined> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', root, '--cluster-enabled', 'yes',
    '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
    '--save', "''", '--appendonly', 'no', '--loglevel', 'warning', '--maxclients', '10000',
  ].join(' ');
  // As for the bench's single Redis: the shell prints the server's pid, and kills it when the
  // bench's end of its stdin closes, so a `kill -9` of the bench leaves no node behind.
  const child = spawnPinned(LOAD_CPU, 'sh', ['-c', `redis-server ${args} & pid=$!; echo "redis-pid $pid"; exec 3<&0; (cat <&3 >/dev/null; kill $pid) & wait $pid`], { stopsOnStdinEnd: true });
  let exited = false;
  void child.exited.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline) {
    const pid = /^redis-pid (\d+)$/m.exec(child.output())?.[1];
    if (pid !== undefined) {
      try {
        if (new RegExp(`^process_id:${pid}\\r?$`, 'm').test(await command(port, 'INFO', 'server'))) return { child, pid: Number(pid) };
      } catch {
        // not listening yet
      }
    }
    await sleep(50);
  }
  await child.stop();
  child.child.stdin?.destroy();
  return undefined;
}

async function command(port: number, ...args: string[]): Promise<string> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return String(await client.call(args[0]!, ...args.slice(1)));
  } finally {
    client.disconnect();
  }
}

async function waitHealthy(nodes: BenchClusterNode[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(nodes.map((n) => command(n.port, 'CLUSTER', 'INFO').catch(() => '')));
    if (states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s))) return;
    if (Date.now() > deadline) throw new Error('the bench Redis Cluster did not become healthy');
    await sleep(200);
  }
}
