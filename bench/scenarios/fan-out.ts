import { sleep } from '../lib/children.ts';
import { median } from '../lib/histogram.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { keptUp, runStep, sustained, warmUp, type StepResult } from './measure.ts';

/**
 * Fan-out: 1 channel, N subscribers (split evenly over `processes` server processes), one publisher
 * socket on the first process. Fixed rates first give p50/p99 under a known load; then the publish
 * rate doubles until the server no longer keeps up (a loss, the publisher behind, p99 over 1 s) and
 * is bisected for the max without loss, then bisected again for the max with p99 under 50 ms.
 * Repeated `repeats` times; medians are reported.
 */
export interface FanOutOptions {
  processes: number;
  subscribers: number;
  stepMs: number;
  /** First rate of the climb (publications/s); it doubles from there up to `maxRate`. */
  startRate: number;
  maxRate: number;
  /** Bisection steps between the last rate kept up with and the first that was not. */
  bisections: number;
  /** Bisection steps of the latency max (p99 under 50 ms), after the climb. */
  latencyBisections: number;
  /** Runs of a rate that must all fail before the climb stops. */
  attempts: number;
  /** Pause before a failed step is run again. */
  retryPauseMs: number;
  fixedRates: number[];
  repeats: number;
  redisUrl: string | undefined;
}

export interface FanOutRun {
  /** Highest sustained rate × subscribers: p99 under 50 ms, nothing lost (the "max"). */
  maxDeliveriesPerSec: number;
  /** Highest rate × subscribers the server kept up with: nothing lost, p99 under 1 s. */
  maxWithoutLossPerSec: number;
  steps: StepResult[];
  fixed: StepResult[];
}

export interface FanOutResult {
  target: string;
  /** Medians over the repeats. */
  maxDeliveriesPerSec: number;
  maxWithoutLossPerSec: number;
  fixed: Array<{ rate: number; p50Ms: number; p99Ms: number; lost: number; cpuMicrosPerDelivery: number }>;
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
    await runStep(publisher, [subscribers], { ...request, rate: options.startRate, durationMs: options.stepMs }, options.subscribers, target.pids);

    // Latency under a known load first, on a server no overload has touched yet.
    const fixed: StepResult[] = [];
    for (const rate of options.fixedRates) {
      const step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
      fixed.push(step);
      log(`fixed ${describe(step)}`);
    }
    // Climb: double the rate until the server no longer keeps up (a loss, the publisher behind, or
    // p99 over a second: a growing backlog), then bisect between the last rate it kept up with and
    // the first it did not. The max (p99 under 50 ms, nothing lost) is then bisected the same way
    // between the highest rate that met it and the lowest above that did not; on a busy shared
    // machine latency fails long before throughput does, so both are reported.
    const steps: StepResult[] = [];
    const attempt = async (rate: number): Promise<StepResult> => {
      let step = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
      log(describe(step));
      // A noisy moment should not decide the result: a rate fails only when `attempts` runs fail.
      for (let retry = 1; retry < options.attempts && !sustained(step); retry++) {
        await sleep(options.retryPauseMs);
        const again = await runStep(publisher, [subscribers], { ...request, rate, durationMs: options.stepMs }, options.subscribers, target.pids);
        log(`retry ${describe(again)}`);
        if (sustained(again) || (keptUp(again) && !keptUp(step)) || (keptUp(again) === keptUp(step) && again.p99Ms < step.p99Ms)) step = again;
      }
      steps.push(step);
      return step;
    };
    let good = 0;
    let bad: number | undefined;
    for (let rate = options.startRate; rate <= options.maxRate; rate *= 2) {
      if (!keptUp(await attempt(rate))) {
        bad = rate;
        break;
      }
      good = rate;
    }
    // Nothing kept up at all: reported as 0 ("below the start rate") without probing lower.
    if (bad !== undefined && good > 0) good = await bisect(good, bad, options.bisections, async (rate) => keptUp(await attempt(rate)));
    // The latency max gets its own bisection: the climb doubles, so without it a target whose p99
    // crosses 50 ms anywhere between 1,600 and 3,200 publications/s would score 1,600 whether it
    // held 1,700 or 3,100, and two targets a few percent apart would differ by 2x.
    const sustainedRates = steps.filter(sustained).map((step) => step.rate);
    let latencyGood = sustainedRates.length > 0 ? Math.max(...sustainedRates) : 0;
    const failedAbove = steps.filter((step) => !sustained(step) && step.rate > latencyGood).map((step) => step.rate);
    if (failedAbove.length > 0 && latencyGood > 0) {
      latencyGood = await bisect(latencyGood, Math.min(...failedAbove), options.latencyBisections, async (rate) => sustained(await attempt(rate)));
    }
    return { maxDeliveriesPerSec: latencyGood * options.subscribers, maxWithoutLossPerSec: good * options.subscribers, steps, fixed };
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

/**
 * Narrows `good` (a rate that passed) towards `bad` (one that failed) `times` times, or until the
 * midpoint rounds onto either end; returns the highest rate that passed.
 */
async function bisect(good: number, bad: number, times: number, passes: (rate: number) => Promise<boolean>): Promise<number> {
  for (let i = 0; i < times; i++) {
    const mid = roundTo2Digits((good + bad) / 2);
    if (mid <= good || mid >= bad) break;
    if (await passes(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/** 1234 → 1200, 87.5 → 88: rates with two significant digits. */
function roundTo2Digits(value: number): number {
  const scale = 10 ** Math.max(0, Math.floor(Math.log10(value)) - 1);
  return Math.round(value / scale) * scale;
}
