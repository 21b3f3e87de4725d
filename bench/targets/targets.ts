import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, SERVER_CPU, spawnPinned, waitForHttp, type PinnedChild } from '../lib/children.ts';
import { BENCH_PUSHER_APP, type ClientProtocol, type ServerAddress } from '../loadgen/protocol.ts';

/**
 * The servers under test. Each is started by the bench as its own process(es), pinned to the
 * server CPU, on a free port of 127.0.0.1, and speaks one client protocol:
 * - `ws`: `/ws/<channel>` subscribes; a text frame sent there is published; publications arrive
 *   as text frames carrying the published text;
 * - `socketio`: Engine.IO v4 over WebSocket, `join` / `publish` events, `message` events out;
 * - `connect`: Herald's /connect; `pusher`: the Pusher protocol on `/app/<key>` (its publisher
 *   publishes through `/ws/` on the mapped Herald channel, since Pusher clients only send client
 *   events, which are rate-limited per socket).
 * Every target also answers `POST /api/publish {"channel","data"}`.
 */
export type TargetName = 'floor' | 'floor-redis' | 'socketio' | 'herald' | 'herald-redis' | 'herald-connect' | 'herald-pusher' | 'herald-cluster';

export interface TargetSpec {
  name: TargetName;
  label: string;
  protocol: ClientProtocol;
  /** Whether the target moves publications through Redis (needed for more than one process). */
  redis: boolean;
}

export const TARGETS: Record<TargetName, TargetSpec> = {
  floor: { name: 'floor', label: 'floor (ws, 1 process)', protocol: 'ws', redis: false },
  'floor-redis': { name: 'floor-redis', label: 'floor via Redis', protocol: 'ws', redis: true },
  socketio: { name: 'socketio', label: 'Socket.IO 4 + redis-adapter', protocol: 'socketio', redis: true },
  herald: { name: 'herald', label: 'Herald /ws (memory broker)', protocol: 'ws', redis: false },
  'herald-redis': { name: 'herald-redis', label: 'Herald /ws (Redis broker)', protocol: 'ws', redis: true },
  'herald-connect': { name: 'herald-connect', label: 'Herald /connect (memory broker)', protocol: 'connect', redis: false },
  'herald-pusher': { name: 'herald-pusher', label: 'Herald Pusher protocol (memory broker)', protocol: 'pusher', redis: false },
  'herald-cluster': { name: 'herald-cluster', label: 'Herald /ws (Redis Cluster, 3 primaries)', protocol: 'ws', redis: true },
};

export interface RunningTarget {
  spec: TargetSpec;
  servers: ServerAddress[];
  pids: number[];
  /** The Redis channel prefix of this run (for counting its channels in Redis). */
  redisPrefix: string;
  /**
   * The event-loop delay of each server process since the previous call (the first call only
   * starts the count): call it before and after a step.
   */
  loopDelay(): Promise<LoopDelay[]>;
  stop(): Promise<void>;
}

/** What bench/lib/loop-delay-probe.ts reports: event-loop delay since the previous report. */
export interface LoopDelay {
  sequence: number;
  samples: number;
  meanMs: number;
  maxMs: number;
  percentilesMs: Record<string, number>;
  /** Garbage-collector pauses over the same time: how many, their sum and the longest. */
  gc?: { count: number; totalMs: number; maxMs: number; maxKind: string; byKind: Record<string, { count: number; totalMs: number }> };
  /** Times the kernel took the CPU from the process while it could have run (another program). */
  preempted?: number;
}

const PRELOAD = ['--import', 'tsx', '--import', './bench/lib/exit-with-parent.ts', '--import', './bench/lib/loop-delay-probe.ts'];

function command(spec: TargetSpec, port: number, redisUrl: string | undefined, prefix: string, clusterNodes: string | undefined): { args: string[]; env: NodeJS.ProcessEnv; ready: string } {
  const base = { ...process.env, PORT: String(port) };
  // `npm run bench -- --profile` writes a CPU profile of every Herald and floor process when it
  // stops, in a folder named after the target and port (each thread writes its own file there: the
  // main thread's is the largest).
  const profile = process.env.BENCH_PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}/${spec.name}-${port}`];
  switch (spec.name) {
    case 'floor':
      return { args: [...profile, ...PRELOAD, 'bench/targets/floor-server.ts'], env: base, ready: '/healthz' };
    case 'floor-redis':
      return { args: [...profile, ...PRELOAD, 'bench/targets/floor-server.ts'], env: { ...base, REDIS_URL: redisUrl, REDIS_PREFIX: prefix }, ready: '/healthz' };
    case 'socketio':
      return { args: [...PRELOAD, 'bench/targets/socketio-server.ts'], env: { ...base, REDIS_URL: redisUrl, REDIS_PREFIX: prefix }, ready: '/healthz' };
    case 'herald':
    case 'herald-connect':
    case 'herald-pusher':
    case 'herald-cluster':
    case 'herald-redis': {
      // The real default app, as `npm start` runs it.
      // The bench's publisher socket is a trusted load generator sending thousands of frames a
      // second: without lifting the per-connection flood guard (default 1,000/s) the bench would
      // measure the guard, not the fan-out. The other targets have no such limit.
      const env: NodeJS.ProcessEnv = { ...base, HOST: '127.0.0.1', LOG_LEVEL: 'warn', HERALD_MAX_MESSAGES_PER_SECOND: '0', HERALD_MAX_CONNECTIONS_PER_IP: '0' };
      delete env.REDIS_URL;
      if (spec.name === 'herald-redis') Object.assign(env, { REDIS_URL: redisUrl, HERALD_REDIS_PREFIX: prefix });
      if (spec.name === 'herald-pusher') {
        // The bench's app, and its channels opened to the /ws publisher.
        Object.assign(env, { HERALD_PUSHER_APPS: JSON.stringify([BENCH_PUSHER_APP]), HERALD_NAMESPACES: JSON.stringify({ pusher: { subscribe: 'anyone', publish: true } }) });
      }
      if (spec.name === 'herald-cluster') {
        if (clusterNodes === undefined) throw new Error('herald-cluster needs the bench Redis Cluster');
        // Without the demo clock: a schedule publishing on its own would be counted in Redis's CPU.
        Object.assign(env, { REDIS_CLUSTER_NODES: clusterNodes, HERALD_REDIS_PREFIX: prefix, HERALD_DEMOS: 'false' });
      }
      return { args: [...profile, ...PRELOAD, 'src/cli.ts', 'serve'], env, ready: spec.redis ? '/readyz' : '/healthz' };
    }
  }
}

/**
 * Starts `processes` instances of a target (sharing one Redis prefix) and waits until each answers.
 * `clusterNodes` (`host:port,…`) is the bench's Redis Cluster, for `herald-cluster`.
 */
export async function startTarget(spec: TargetSpec, processes: number, redisUrl: string | undefined, clusterNodes?: string): Promise<RunningTarget> {
  if (processes > 1 && !spec.redis) throw new Error(`${spec.name} cannot span processes`);
  const prefix = `bench-${randomBytes(4).toString('hex')}:`;
  const children: PinnedChild[] = [];
  const servers: ServerAddress[] = [];
  const loopFiles: string[] = [];
  try {
    for (let i = 0; i < processes; i++) {
      const port = await freePort();
      const { args, env, ready } = command(spec, port, redisUrl, prefix, clusterNodes);
      const loopFile = join(tmpdir(), `herald-bench-loop-${process.pid}-${prefix.slice(6, -1)}-${i}.json`);
      loopFiles.push(loopFile);
      const child = spawnPinned(SERVER_CPU, process.execPath, args, { env: { ...env, BENCH_LOOP_DELAY_FILE: loopFile } });
      children.push(child);
      await waitForHttp(`http://127.0.0.1:${port}${ready}`, child);
      servers.push({ host: '127.0.0.1', port });
    }
  } catch (error) {
    await Promise.all(children.map((c) => c.stop()));
    throw error;
  }
  return {
    spec,
    servers,
    pids: children.map((c) => c.pid),
    redisPrefix: prefix,
    loopDelay: () => Promise.all(children.map((child, i) => readLoopDelay(child, loopFiles[i]!))),
    stop: async () => {
      await Promise.all(children.map((c) => c.stop()));
      for (const file of loopFiles) rmSync(file, { force: true });
    },
  };
}

const loopSequences = new WeakMap<PinnedChild, number>();

/** Signals the server's probe and waits (up to 2 s: a stalled loop answers late) for its report. */
async function readLoopDelay(child: PinnedChild, file: string): Promise<LoopDelay> {
  const expected = (loopSequences.get(child) ?? 0) + 1;
  loopSequences.set(child, expected);
  process.kill(child.pid, 'SIGUSR2');
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      const report = JSON.parse(readFileSync(file, 'utf8')) as LoopDelay;
      if (report.sequence >= expected) {
        loopSequences.set(child, report.sequence);
        return report;
      }
    } catch {
      // not written yet, or being written
    }
    if (Date.now() > deadline) return { sequence: expected, samples: 0, meanMs: Number.NaN, maxMs: Number.NaN, percentilesMs: {} };
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
