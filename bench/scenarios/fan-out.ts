import { sleep } from '../lib/children.ts';
import { median } from '../lib/histogram.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { runStep, sustained, warmUp, type StepResult } from './measure.ts';

/**
 * Fan-out: 1 channel, N subscribers (split evenly over `processes` server processes), one publisher
 * socket on the first process. The publish rate steps up until a step is not sustained (p99 over
 * 50 ms, a loss, or the publisher could not keep up); the last sustained step is the target's max.
 * Then fixed rates give p50/p99 under a known load. Repeated `repeats` times; medians are reported.
 */
export interface FanOutOptions {
  processes: number;
  subscribers: number;
  stepMs: number;
  rates: number[];
  fixedRates: number[];
  repeats: number;
  redisUrl: string | undefined;
}

export interface FanOutRun {
  maxDeliveriesPerSec: number;
  maxRate: number;
  steps: StepResult[];
  fixed: StepResult[];
}

export interface FanOutResult {
  target: string;
  /** Median over the repeats. */
  maxDeliveriesPerSec: number;
  fixed: Array<{ rate: number; p50Ms: number; p99Ms: number; lost: number; cpuMicrosPerDelivery: number }>;
  runs: FanOutRun[];
}

const CHANNEL = 'fanout';

export async function fanOut(spec: TargetSpec, options: FanOutOptions, log: (line: string) => void): Promise<FanOutResult> {
  const runs: FanOutRun[] = [];
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    runs.push(await fanOutOnce(spec, options, (line) => log(`  [${spec.name} ${repeat + 1}/${options.repeats}] ${line}`)));
  }
  return {
    target: spec.name,
    maxDeliveriesPerSec: median(runs.map((r) => r.maxDeliveriesPerSec)),
    fixed: options.fixedRates.map((rate, i) => ({
      rate,
      p50Ms: median(runs.map((r) => r.fixed[i]!.p50Ms)),
      p99Ms: median(runs.map((r) => r.fixed[i]!.p99Ms)),
      lost: Math.max(...runs.map((r) => r.fixed[i]!.lost)),
      cpuMicrosPerDelivery: median(runs.map((r) => r.fixed[i]!.serverCpuMicrosPerDelivery)),
    })),
    runs,
  };
}

async function fanOutOnce(spec: TargetSpec, options: FanOutOptions, log: (line: string) => void): Promise<FanOutRun> {
  const target = await startTarget(spec, options.processes, options.redisUrl);
  const subscribers = new LoadWorker();
  const publisher = new LoadWorker();
  try {
    await Promise.all([subscribers.ready, publisher.ready]);
    const connected = await subscribers.connect({
      protocol: spec.protocol,
      servers: target.servers,
      channels: new Array<string>(options.subscribers).fill(CHANNEL),
      localAddresses: sourceAddresses(1),
      perAddress: PER_ADDRESS,
      concurrency: 100,
    });
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${options.subscribers} subscribers could not connect`);
    const request = { protocol: spec.protocol, mode: 'socket' as const, server: target.servers[0]!, channels: [CHANNEL] };
    await warmUp(publisher, [subscribers], request);
    // Let the JIT compile the hot path before anything is measured.
    await runStep(publisher, [subscribers], { ...request, rate: options.rates[0]!, durationMs: options.stepMs }, options.subscribers, target.pids);

    // Latency under a known load first, on a server no overload has touched yet.
    const fixed: StepResult[] = [];
    for (const rate of options.fixedRates) {
      const step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
      fixed.push(step);
      log(`fixed ${describe(step)}`);
    }
    const steps: StepResult[] = [];
    let best: StepResult | undefined;
    for (const rate of options.rates) {
      let step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
      log(describe(step));
      if (!sustained(step)) {
        // The machine is shared: one noisy second should not end the climb. A second failure does.
        await sleep(1000);
        step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
        log(`retry ${describe(step)}`);
      }
      steps.push(step);
      if (!sustained(step)) break;
      best = step;
    }
    return { maxDeliveriesPerSec: best === undefined ? 0 : best.rate * options.subscribers, maxRate: best?.rate ?? 0, steps, fixed };
  } finally {
    await Promise.all([subscribers.exit(), publisher.exit()]);
    await target.stop();
  }
}

export function describe(step: StepResult): string {
  return (
    `${step.rate}/s: ${step.deliveriesPerSec} deliveries/s, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, ` +
    `lost ${step.lost}, dup ${step.duplicates}, ${step.serverCpuMicrosPerDelivery} µs CPU/delivery` +
    (step.publisherBehind ? ', publisher behind' : '') +
    (step.publishErrors > 0 ? `, ${step.publishErrors} publish errors` : '')
  );
}
