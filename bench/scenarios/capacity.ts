import { type BenchRedisCluster } from '../lib/bench-redis-cluster.ts';
import { cpuMs, rssBytes, sleep } from '../lib/children.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, TARGETS } from '../targets/targets.ts';
import { runStep } from './measure.ts';

/**
 * The largest simulation this machine allows, to check docs/scaling.md's capacity model: many idle
 * `/ws` connections over several Herald processes on the bench's Redis Cluster (each process, and
 * each load generator, under the open-file limit of 20,000), all on one channel; then single
 * publications through `POST /api/publish` on the first process, each of which must reach every
 * socket. Records what the model is built from: resident memory per connection (all processes,
 * start-up baseline subtracted), Herald CPU per delivery and Redis CPU per publication (the
 * primaries, from /proc), and the time until the last socket has each publication.
 */
export interface CapacityOptions {
  connections: number;
  processes: number;
  publications: number;
  redisUrl: string;
  cluster: BenchRedisCluster;
}

export interface CapacityResult {
  connections: number;
  open: number;
  processes: number;
  connectSeconds: number;
  /** Resident memory of all Herald processes before any connection, and with every connection open. */
  baselineRssBytes: number;
  rssBytes: number;
  bytesPerConnection: number;
  loadGeneratorProcesses: number;
  publications: Array<{ lastSocketMs: number; p50Ms: number; lost: number; duplicates: number; publishErrors: number; notReady: string[]; heraldCpuMs: number; heraldCpuMicrosPerDelivery: number; redisCpuMs: number }>;
}

export async function capacity(options: CapacityOptions, log: (line: string) => void): Promise<CapacityResult> {
  const spec = TARGETS['herald-cluster'];
  const target = await startTarget(spec, options.processes, options.redisUrl, options.cluster.nodes);
  const workers = Array.from({ length: options.processes }, () => new LoadWorker());
  const publisher = new LoadWorker();
  try {
    await Promise.all([...workers, publisher].map((w) => w.ready));
    await sleep(2000);
    const baselineRssBytes = target.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    const perWorker = Math.ceil(options.connections / options.processes);
    if (perWorker > 19_000) throw new Error(`${perWorker} connections per process: over the open-file limit of 20,000; use more processes`);
    log(`  [capacity] ${options.processes} Herald processes on the cluster (${(baselineRssBytes / 2 ** 20).toFixed(0)} MiB resident at start), connecting ${options.connections.toLocaleString('en-US')} sockets`);
    const started = performance.now();
    // On a machine this full a few handshakes time out (30 s); like real clients, those sockets try
    // again (twice at most), so that the check runs at the connection count it was asked for.
    const wanted = workers.map((_, i) => Math.max(0, Math.min(perWorker, options.connections - i * perWorker)));
    let ready = 0;
    let failed = 0;
    let retried = 0;
    for (let round = 0; round < 3 && wanted.some((n) => n > 0); round++) {
      const results = await Promise.all(
        workers.map((worker, i) =>
          worker.connect({
            protocol: spec.protocol,
            servers: [target.servers[i]!],
            channels: new Array<string>(wanted[i]!).fill('all'),
            localAddresses: sourceAddresses(Math.max(1, Math.ceil(wanted[i]! / PER_ADDRESS))),
            perAddress: PER_ADDRESS,
            concurrency: 50,
          }),
        ),
      );
      if (round > 0) retried += wanted.reduce((s, n) => s + n, 0);
      results.forEach((r, i) => (wanted[i] = r.failed));
      ready += results.reduce((s, r) => s + r.ready, 0);
      failed = results.reduce((s, r) => s + r.failed, 0);
    }
    const connectSeconds = (performance.now() - started) / 1000;
    log(`  [capacity] ${ready} connected (${failed} failed${retried > 0 ? `; ${retried} timed-out handshakes tried again` : ''}) in ${connectSeconds.toFixed(1)} s`);
    await sleep(3000);
    const rss = target.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
    const bytesPerConnection = ready > 0 ? (rss - baselineRssBytes) / ready : Number.NaN;
    log(`  [capacity] Herald resident memory ${(rss / 2 ** 20).toFixed(0)} MiB: ${(bytesPerConnection / 1024).toFixed(2)} KiB per connection above the start-up baseline`);
    const primaries = await options.cluster.primaries();
    const publications: CapacityResult['publications'] = [];
    for (let i = 0; i < options.publications; i++) {
      // A process that is not ready refuses publishes or may miss them: say which, and why.
      const notReady = (
        await Promise.all(
          target.servers.map(async (server) => {
            const response = await fetch(`http://${server.host}:${server.port}/readyz`, { signal: AbortSignal.timeout(10_000) }).catch((error: Error) => error);
            return response instanceof Error ? `${server.port}: ${response.message}` : response.ok ? undefined : `${server.port}: ${response.status} ${(await response.text()).slice(0, 300)}`;
          }),
        )
      ).filter((x): x is string => x !== undefined);
      if (notReady.length > 0) log(`  [capacity] not ready before publication ${i + 1}: ${notReady.join('; ')}`);
      const heraldBefore = target.pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
      const redisBefore = primaries.reduce((sum, n) => sum + cpuMs(n.pid), 0);
      const step = await runStep(
        publisher,
        workers,
        { protocol: spec.protocol, mode: 'http', server: target.servers[0]!, channels: ['all'], rate: 1, durationMs: 1000, httpConnections: 1 },
        ready,
        { pids: target.pids },
        30_000,
      );
      const heraldCpuMs = target.pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - heraldBefore;
      const redisCpuMs = primaries.reduce((sum, n) => sum + cpuMs(n.pid), 0) - redisBefore;
      const entry = {
        lastSocketMs: step.maxMs,
        p50Ms: step.p50Ms,
        lost: step.lost,
        duplicates: step.duplicates,
        publishErrors: step.publishErrors,
        notReady,
        heraldCpuMs: Math.round(heraldCpuMs),
        heraldCpuMicrosPerDelivery: step.received > 0 ? Math.round((heraldCpuMs * 1000 * 100) / step.received) / 100 : Number.NaN,
        redisCpuMs: Math.round(redisCpuMs * 100) / 100,
      };
      publications.push(entry);
      log(`  [capacity] publication ${i + 1}: last socket after ${entry.lastSocketMs} ms (p50 ${entry.p50Ms} ms), lost ${entry.lost}, duplicates ${entry.duplicates}, publish errors ${entry.publishErrors}; Herald CPU ${entry.heraldCpuMs} ms (${entry.heraldCpuMicrosPerDelivery} µs per delivery), Redis primaries ${entry.redisCpuMs} ms`);
      await sleep(5000);
    }
    const open = (await Promise.all(workers.map((w) => w.report()))).reduce((s, r) => s + r.open, 0);
    return { connections: ready, open, processes: options.processes, connectSeconds, baselineRssBytes, rssBytes: rss, bytesPerConnection, loadGeneratorProcesses: workers.length + 1, publications };
  } finally {
    await Promise.all([...workers, publisher].map((w) => w.exit()));
    await target.stop();
  }
}

export function capacityTable(results: CapacityResult[]): string {
  const lines = [
    '### Capacity check: idle connections over many Herald processes on a 3-primary Redis Cluster, one publication to all',
    '',
    '| connections | Herald processes | connect time | Herald memory at start / with every connection | memory per connection | last socket has it after (each publication) | lost | Herald CPU per delivery | Redis CPU (primaries) per publication |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.connections.toLocaleString('en-US')} (${r.open.toLocaleString('en-US')} open at the end) | ${r.processes} | ${r.connectSeconds.toFixed(1)} s | ${(r.baselineRssBytes / 2 ** 20).toFixed(0)} MiB / ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB | ${(r.bytesPerConnection / 1024).toFixed(2)} KiB | ${r.publications.map((p) => `${p.lastSocketMs} ms`).join(', ')} | ${r.publications.map((p) => p.lost).join(', ')} | ${r.publications.map((p) => `${p.heraldCpuMicrosPerDelivery} µs`).join(', ')} | ${r.publications.map((p) => `${p.redisCpuMs} ms`).join(', ')} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
