import { cpuMs, rssBytes, sleep } from '../lib/children.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';

/**
 * Idle connections on one process: the server's resident memory per connection after `steps[0]`
 * and after `steps[1]` connections (all subscribed to one channel), and how many handshakes per
 * second it accepts while they arrive (200 in flight). One load-generator process holds them all,
 * so the largest step must stay under the 20,000 open-file limit.
 */
export interface IdleOptions {
  steps: number[];
  /** Handshakes opened and closed before measuring. */
  warmUp: number;
  /** Wait after the last connection of a step opened before memory is read. */
  settleMs: number;
  redisUrl: string | undefined;
}

export interface IdleResult {
  target: string;
  /** Connections accepted per second while the first step connected. */
  acceptPerSec: number;
  /** Server CPU per accepted connection, in µs (steadier than the rate on a shared machine). */
  cpuMicrosPerAccept: number;
  /**
   * Memory at each step: `bytesPerConnection` is the growth over the baseline divided by all the
   * connections; `marginalBytesPerConnection` the growth since the previous step divided by the
   * connections added (free of start-up effects, but noisier).
   */
  points: Array<{ connections: number; open: number; rssBytes: number; bytesPerConnection: number; marginalBytesPerConnection: number }>;
  baselineRssBytes: number;
}

export async function idleConnections(spec: TargetSpec, options: IdleOptions, log: (line: string) => void): Promise<IdleResult> {
  const target = await startTarget(spec, 1, options.redisUrl);
  const worker = new LoadWorker();
  try {
    await worker.ready;
    const pid = target.pids[0]!;
    await sleep(1000);
    // The baseline is taken before the warm-up, so whatever the warm-up leaves behind (compiled
    // code, a grown heap) counts against the connections: a few MB over 10,000 connections.
    const baseline = rssBytes(pid);
    // Open and drop some sockets first (2,000 in a full run): the accept path is then compiled by
    // the JIT (the rate triples over the first few thousand handshakes), for every target alike.
    const warm = await worker.connect({ protocol: spec.protocol, servers: target.servers, channels: new Array<string>(options.warmUp).fill('idle'), localAddresses: sourceAddresses(1), perAddress: PER_ADDRESS, concurrency: 200 });
    await worker.close(warm.first, options.warmUp);
    await sleep(1000);
    const points: IdleResult['points'] = [];
    let acceptPerSec = 0;
    let cpuMicrosPerAccept = 0;
    let total = 0;
    for (const step of options.steps) {
      const count = step - total;
      const cpuBefore = cpuMs(pid);
      const result = await worker.connect({
        protocol: spec.protocol,
        servers: target.servers,
        channels: new Array<string>(count).fill('idle'),
        localAddresses: sourceAddresses(Math.ceil(count / PER_ADDRESS)),
        perAddress: PER_ADDRESS,
        concurrency: 200,
      });
      if (result.failed > 0) throw new Error(`${spec.name}: ${result.failed} of ${count} connections failed`);
      if (total === 0) {
        acceptPerSec = Math.round(result.ready / (result.ms / 1000));
        cpuMicrosPerAccept = Math.round(((cpuMs(pid) - cpuBefore) * 1000) / result.ready);
      }
      total = step;
      await sleep(options.settleMs);
      const rss = rssBytes(pid);
      const report = await worker.report();
      const previous = points.at(-1) ?? { connections: 0, rssBytes: baseline };
      points.push({
        connections: step,
        open: report.open,
        rssBytes: rss,
        bytesPerConnection: Math.round((rss - baseline) / step),
        marginalBytesPerConnection: Math.round((rss - previous.rssBytes) / (step - previous.connections)),
      });
      log(`  [${spec.name}] ${step} connections (${report.open} open): ${(rss / 2 ** 20).toFixed(0)} MiB, ${((rss - baseline) / step / 1024).toFixed(1)} KiB each` + (total === step && points.length === 1 ? `, ${acceptPerSec} accepted/s, ${cpuMicrosPerAccept} µs CPU each` : ''));
    }
    return { target: spec.name, acceptPerSec, cpuMicrosPerAccept, points, baselineRssBytes: baseline };
  } finally {
    await worker.exit();
    await target.stop();
  }
}
