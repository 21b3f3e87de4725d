import { rssBytes, sleep } from '../lib/children.ts';
import type { BenchRedis } from '../lib/redis-server.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { runStep } from './measure.ts';

/**
 * Many idle connections across several server processes sharing Redis, all on one channel, held by
 * several load-generator processes (each process may hold fewer than 20,000 sockets). Then single
 * publications through `POST /api/publish` on the first process: how long until the last socket
 * has each one, and how many never arrive.
 */
export interface ScaleOptions {
  connections: number;
  processes: number;
  publications: number;
  redis: BenchRedis;
  /** The bench's Redis Cluster (`host:port,…`), for the `herald-cluster` target. */
  clusterNodes?: string;
}

export interface ScaleResult {
  target: string;
  connections: number;
  open: number;
  processes: number;
  connectSeconds: number;
  serverRssBytes: number;
  publications: Array<{ lastSocketMs: number; p50Ms: number; lost: number; duplicates: number; serverCpuMs: number; redisCpuMs: number | undefined; redisCommands: number | undefined; loopDelayMaxMs: number | undefined }>;
}

export async function scale(spec: TargetSpec, options: ScaleOptions, log: (line: string) => void): Promise<ScaleResult> {
  const target = await startTarget(spec, options.processes, options.redis.url, options.clusterNodes);
  // On the cluster, Redis CPU is the primaries' (the cluster scenarios report it), not the bench's single Redis.
  const probes = { pids: target.pids, loopDelay: target.loopDelay, redis: spec.redis && spec.name !== 'herald-cluster' ? options.redis : undefined };
  const workers = Array.from({ length: options.processes }, () => new LoadWorker());
  const publisher = new LoadWorker();
  try {
    await Promise.all([...workers, publisher].map((w) => w.ready));
    const perWorker = Math.ceil(options.connections / options.processes);
    const started = performance.now();
    const results = await Promise.all(
      workers.map((worker, i) =>
        worker.connect({
          protocol: spec.protocol,
          servers: [target.servers[i]!],
          channels: new Array<string>(Math.min(perWorker, options.connections - i * perWorker)).fill('all'),
          localAddresses: sourceAddresses(Math.ceil(perWorker / PER_ADDRESS)),
          perAddress: PER_ADDRESS,
          concurrency: 100,
        }),
      ),
    );
    const connectSeconds = (performance.now() - started) / 1000;
    const failed = results.reduce((s, r) => s + r.failed, 0);
    const ready = results.reduce((s, r) => s + r.ready, 0);
    log(`  [${spec.name}] ${ready} connected (${failed} failed) over ${options.processes} processes in ${connectSeconds.toFixed(1)} s`);
    await sleep(2000);
    const serverRssBytes = target.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    const publications: ScaleResult['publications'] = [];
    for (let i = 0; i < options.publications; i++) {
      const step = await runStep(
        publisher,
        workers,
        { protocol: spec.protocol, mode: 'http', server: target.servers[0]!, channels: ['all'], rate: 1, durationMs: 1000, httpConnections: 1 },
        ready,
        probes,
        20_000,
      );
      // One publication per step: "per publication" is the step's whole cost (drain time included).
      const entry = {
        lastSocketMs: step.maxMs,
        p50Ms: step.p50Ms,
        lost: step.lost,
        duplicates: step.duplicates,
        serverCpuMs: Math.round(step.serverCpuMicrosPerPublication / 100) / 10,
        redisCpuMs: step.redisCpuMicrosPerPublication === undefined ? undefined : Math.round(step.redisCpuMicrosPerPublication / 10) / 100,
        redisCommands: step.redisCommandsPerPublication,
        loopDelayMaxMs: step.loopDelayMaxMs,
      };
      publications.push(entry);
      log(
        `  [${spec.name}] publication ${i + 1}: last socket after ${step.maxMs} ms (p50 ${step.p50Ms} ms), lost ${step.lost}, duplicates ${step.duplicates}; ` +
          `server CPU ${entry.serverCpuMs} ms, Redis CPU ${entry.redisCpuMs ?? 'n/a'} ms, ${entry.redisCommands ?? 'n/a'} Redis commands, event loop delay max ${entry.loopDelayMaxMs} ms`,
      );
      if (i + 1 < options.publications) await sleep(1000);
    }
    const open = (await Promise.all(workers.map((w) => w.report()))).reduce((s, r) => s + r.open, 0);
    return { target: spec.name, connections: ready, open, processes: options.processes, connectSeconds, serverRssBytes, publications };
  } finally {
    await Promise.all([...workers, publisher].map((w) => w.exit()));
    await target.stop();
  }
}
