import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

/** Every cluster started in this test process, killed if the process exits without stopping them. */
const running = new Set<PrivateRedisCluster>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = (): void => {
    for (const cluster of running) cluster.killNow();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(1);
    });
  }
}

/** One node of a private cluster: its port, its directory (nodes.conf) and its process. */
export interface ClusterNode {
  port: number;
  dir: string;
  child: ChildProcess | undefined;
}

/**
 * A private Redis Cluster for tests: 3 primaries and 3 replicas (`redis-server --cluster-enabled
 * yes` on free ports, in a temporary directory, joined by `redis-cli --cluster create`). Start it
 * once per test file; `stop()` kills every node and removes the directory (an exit hook does too
 * if the test process ends first). It never touches the Redis on 6379.
 *
 * `nodeTimeoutMs` is the cluster's failure detection time: a primary killed is replaced by its
 * replica about that long after.
 */
export class PrivateRedisCluster {
  readonly nodes: ClusterNode[];
  readonly #root: string;
  readonly #nodeTimeoutMs: number;

  private constructor(root: string, nodes: ClusterNode[], nodeTimeoutMs: number) {
    this.#root = root;
    this.nodes = nodes;
    this.#nodeTimeoutMs = nodeTimeoutMs;
  }

  static async start(options: { nodeTimeoutMs?: number } = {}): Promise<PrivateRedisCluster> {
    installExitHook();
    const root = await mkdtemp(join(tmpdir(), 'herald-cluster-'));
    const nodes: ClusterNode[] = [];
    const ports = new Set<number>();
    while (ports.size < 6) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be usable.
      if (port + 10000 <= 65535 && port !== 6379) ports.add(port);
    }
    for (const port of ports) {
      const dir = join(root, String(port));
      await mkdir(dir);
      nodes.push({ port, dir, child: undefined });
    }
    const cluster = new PrivateRedisCluster(root, nodes, options.nodeTimeoutMs ?? 1500);
    running.add(cluster);
    try {
      await Promise.all(nodes.map((node) => cluster.#startNode(node)));
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** `host:port,…` for REDIS_CLUSTER_NODES. */
  get nodesSetting(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`);
  }

  async #startNode(node: ClusterNode): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port', String(node.port), '--bind', '127.0.0.1', '--dir', node.dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(this.#nodeTimeoutMs),
        // A lone replica takes over without waiting for an operator; the data of a dead primary's
        // slots must be kept when the whole cluster restarts.
        '--cluster-replica-validity-factor', '0', '--appendonly', 'yes', '--save', '',
        '--enable-debug-command', 'local',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    node.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cluster node ${node.port} exited (${child.exitCode ?? child.signalCode})`);
      const probe = new Redis(node.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        const info = await probe.info('server');
        if (new RegExp(`^process_id:${child.pid}\\r?$`, 'm').test(info)) return;
      } catch {
        // not up yet
      } finally {
        probe.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`cluster node ${node.port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A cluster client for assertions. */
  client(): Cluster {
    const client = new Cluster(this.nodesSetting.map((address) => ({ host: '127.0.0.1', port: Number(address.split(':')[1]) })));
    client.on('error', () => {});
    return client;
  }

  /** A plain connection to one node. */
  nodeClient(port: number): Redis {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  }

  /** Waits until every live node reports `cluster_state:ok` and 3 primaries serve all slots. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await this.#healthy()) return;
      if (Date.now() > deadline) throw new Error('the private Redis Cluster did not become healthy');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async #healthy(): Promise<boolean> {
    const live = this.nodes.filter((node) => node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null);
    for (const node of live) {
      const client = new Redis(node.port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      client.on('error', () => {});
      try {
        await client.connect();
        const info = (await client.call('CLUSTER', 'INFO')) as string;
        if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
        const primaries = ((await client.call('CLUSTER', 'NODES')) as string).split('\n').filter((line) => /[ ,]master /.test(line) && !/fail/.test(line) && /\d+-\d+/.test(line));
        if (primaries.length !== 3) return false;
      } catch {
        return false;
      } finally {
        client.disconnect();
      }
    }
    return live.length > 0;
  }

  /** The ports of the current primaries (as one live node sees them). */
  async primaries(): Promise<number[]> {
    const live = this.nodes.find((node) => node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null)!;
    const client = this.nodeClient(live.port);
    try {
      const nodes = (await client.call('CLUSTER', 'NODES')) as string;
      return nodes
        .split('\n')
        .filter((line) => /[ ,]master /.test(line) && !/fail/.test(line) && /\d+-\d+/.test(line))
        .map((line) => Number(/:(\d+)@/.exec(line)![1]));
    } finally {
      client.disconnect();
    }
  }

  /** The port of the primary serving `slot`. */
  async primaryOf(slot: number): Promise<number> {
    const live = this.nodes.find((node) => node.child !== undefined && node.child.exitCode === null && node.child.signalCode === null)!;
    const client = this.nodeClient(live.port);
    try {
      const slots = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
      const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
      return Number(range[2][1]);
    } finally {
      client.disconnect();
    }
  }

  /** Kills node `port` at once (SIGKILL, as a crash would), or stops it (SIGTERM: AOF flushed). */
  async kill(port: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.nodes.find((n) => n.port === port)!;
    const child = node.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, 'exit');
  }

  /** Starts node `port` again, with its nodes.conf and data. */
  async restart(port: number): Promise<void> {
    await this.#startNode(this.nodes.find((n) => n.port === port)!);
  }

  /** Stops every node (SIGTERM: each flushes its AOF) and starts them all again with their nodes.conf. */
  async restartAll(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node.port, 'SIGTERM')));
    await Promise.all(this.nodes.map((node) => this.#startNode(node)));
    await this.waitHealthy(60_000);
  }

  killNow(): void {
    for (const node of this.nodes) {
      const child = node.child;
      if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }

  /** Kills every node and removes the directory. */
  async stop(): Promise<void> {
    running.delete(this);
    await Promise.all(this.nodes.map((node) => this.kill(node.port)));
    await rm(this.#root, { recursive: true, force: true });
  }
}
