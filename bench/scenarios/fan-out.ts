import { median } from '../lib/histogram.ts';
import type { BenchRedis } from '../lib/redis-server.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { climb, type ClimbOptions, type ClimbStep } from './climb.ts';
import { runStep, warmUp, type StepResult } from './measure.ts';

/**
 * Fan-out: 1 channel, N subscribers (split evenly over `processes` server processes), one publisher
 * socket on the first process. Fixed rates first give p50/p99 under a known load; then the publish
 * rate doubles until the server no longer keeps up (a loss, the publisher behind, p99 over 1 s) and
 * is bisected for the max without loss, then bisected again for the max with p99 under 50 ms.
 * Repeated `repeats` times; medians are reported.
 */
export interface FanOutOptions extends ClimbOptions {
  processes: number;
  subscribers: number;
  stepMs: number;
  fixedRates: number[];
  repeats: number;
  redis: BenchRedis;
}

export interface FanOutRun {
  /** Highest sustained rate × subscribers: p99 under 50 ms, nothing lost (the "max" the targets compare). */
  maxDeliveriesPerSec: number;
  /** Highest rate × subscribers the server kept up with: nothing lost, p99 under 1 s. */
  maxWithoutLossPerSec: number;
  /** Every step of the climb, each with the retries of a failed first run. */
  steps: ClimbStep[];
  fixed: StepResult[];
}

export interface FanOutResult {
  target: string;
  /** Medians over the repeats. */
  maxDeliveriesPerSec: number;
  maxWithoutLossPerSec: number;
  fixed: Array<{ rate: number; p50Ms: number; p99Ms: number; lost: number; cpuMicrosPerDelivery: number; cpuMicrosPerPublication: number; redisCpuMicrosPerPublication: number | undefined; redisCommandsPerPublication: number | undefined; loopDelayP99Ms: number | undefined }>;
  runs: FanOutRun[];
}

const CHANNEL = 'fanout';

/**
 * Runs every target once per repeat, interleaved (floor, Socket.IO, Herald, floor, ...), so that
 * load from other programs on a shared machine falls on all targets alike; reports medians.
 */
export async function fanOut(specs: TargetSpec[], options: FanOutOptions, log: (line: string) => void): Promise<FanOutResult[]> {
  const runs = new Map<string, FanOutRun[]>(specs.map((spec) => [spec.name, []]));
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const spec of specs) {
      runs.get(spec.name)!.push(await fanOutOnce(spec, options, (line) => log(`  [${spec.name} ${repeat + 1}/${options.repeats}] ${line}`)));
    }
  }
  return specs.map((spec) => summarize(spec.name, runs.get(spec.name)!, options.fixedRates));
}

function summarize(target: string, runs: FanOutRun[], fixedRates: number[]): FanOutResult {
  return {
    target,
    maxDeliveriesPerSec: median(runs.map((r) => r.maxDeliveriesPerSec)),
    maxWithoutLossPerSec: median(runs.map((r) => r.maxWithoutLossPerSec)),
    fixed: fixedRates.map((rate, i) => ({
      rate,
      p50Ms: median(runs.map((r) => r.fixed[i]!.p50Ms)),
      p99Ms: median(runs.map((r) => r.fixed[i]!.p99Ms)),
      lost: Math.max(...runs.map((r) => r.fixed[i]!.lost)),
      cpuMicrosPerDelivery: median(runs.map((r) => r.fixed[i]!.serverCpuMicrosPerDelivery)),
      cpuMicrosPerPublication: median(runs.map((r) => r.fixed[i]!.serverCpuMicrosPerPublication)),
      redisCpuMicrosPerPublication: medianOf(runs.map((r) => r.fixed[i]!.redisCpuMicrosPerPublication)),
      redisCommandsPerPublication: medianOf(runs.map((r) => r.fixed[i]!.redisCommandsPerPublication)),
      loopDelayP99Ms: medianOf(runs.map((r) => r.fixed[i]!.loopDelayP99Ms)),
    })),
    runs,
  };
}

async function fanOutOnce(spec: TargetSpec, options: FanOutOptions, log: (line: string) => void): Promise<FanOutRun> {
  const target = await startTarget(spec, options.processes, options.redis.url);
  const probes = { pids: target.pids, loopDelay: target.loopDelay, redis: spec.redis ? options.redis : undefined };
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
    await runStep(publisher, [subscribers], { ...request, rate: options.startRate, durationMs: options.stepMs }, options.subscribers, probes);

    // Latency under a known load first, on a server no overload has touched yet.
    const fixed: StepResult[] = [];
    for (const rate of options.fixedRates) {
      const step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, probes);
      fixed.push(step);
      log(`fixed ${describe(step)}`);
    }
    const result = await climb((rate) => runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, probes), options, log, describe, new Map(fixed.map((step) => [step.rate, step])));
    return { maxDeliveriesPerSec: result.maxSustainedRate * options.subscribers, maxWithoutLossPerSec: result.maxKeptUpRate * options.subscribers, steps: result.steps, fixed };
  } finally {
    await Promise.all([subscribers.exit(), publisher.exit()]);
    await target.stop();
  }
}

/** A median of the values that were measured (undefined when none was). */
export function medianOf(values: Array<number | undefined>): number | undefined {
  const measured = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return measured.length === 0 ? undefined : median(measured);
}

export function describe(step: StepResult): string {
  return (
    `${step.rate}/s: ${step.deliveriesPerSec} deliveries/s, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, ` +
    `lost ${step.lost}, dup ${step.duplicates}, ${step.serverCpuMicrosPerDelivery} µs CPU/delivery, ${step.serverCpuMicrosPerPublication} µs CPU/publication` +
    (step.redisCpuMicrosPerPublication !== undefined ? `, Redis ${step.redisCpuMicrosPerPublication} µs CPU and ${step.redisCommandsPerPublication} commands/publication` : '') +
    (step.loopDelayP99Ms !== undefined ? `, event loop delay p99 ${step.loopDelayP99Ms} ms max ${step.loopDelayMaxMs} ms` : '') +
    (step.gcMaxMs !== undefined ? ` (longest GC pause ${step.gcMaxMs} ms ${step.gcMaxKind}, preempted ${step.preempted}×)` : '') +
    (step.publisherBehind ? ', publisher behind' : '') +
    (step.publishErrors > 0 ? `, ${step.publishErrors} publish errors` : '')
  );
}
