import type { BenchRedis } from '../lib/redis-server.ts';
import { PER_ADDRESS, sourceAddresses } from '../lib/source-addresses.ts';
import { LoadWorker } from '../loadgen/load-worker.ts';
import type { PublishRequest } from '../loadgen/protocol.ts';
import { startTarget, type TargetSpec } from '../targets/targets.ts';
import { median } from '../lib/histogram.ts';
import { climb, type ClimbOptions, type ClimbStep } from './climb.ts';
import { describe as describeStep, medianOf } from './fan-out.ts';
import { runStep, warmUp, type StepResult } from './measure.ts';

/**
 * Per-user channels, published from the sockets: N sockets, each on its own channel, each
 * publishing on its own socket (the chat / notification pattern: a little traffic on very many
 * channels, from the clients). Every publication has exactly one receiver, the socket that sent
 * it, so the cost measured is the publish path itself: parsing a client frame, the checks, the
 * broker (and Redis with it), and one delivery.
 *
 * First a fixed rate per channel (`fixedRatePerChannel`), then the climb (climb.ts) in
 * publications per second per channel: the highest with p99 under 50 ms and nothing lost.
 * Repeated `repeats` times with the targets taking turns (as fan-out does); medians are reported.
 */
export interface PerUserChannelsOptions extends ClimbOptions {
  sockets: number;
  stepMs: number;
  fixedRatePerChannel: number;
  /**
   * Length of the fixed-rate step. Longer than a climb step: CPU per message over a 2-second window
   * moved by a third between rounds of one target, as a single old-generation collection or a
   * burst of wake-ups fell inside the window or not.
   */
  fixedStepMs: number;
  repeats: number;
  redis: BenchRedis;
}

/** Medians over the rounds; every round's steps are in `runs`. */
export interface PerUserChannelsResult {
  target: string;
  sockets: number;
  /** The step at the fixed rate per channel: medians of each figure over the rounds. */
  fixed: StepResult;
  maxRatePerChannel: number;
  maxDeliveriesPerSec: number;
  maxRatePerChannelWithoutLoss: number;
  runs: PerUserChannelsRun[];
}

export interface PerUserChannelsRun {
  target: string;
  sockets: number;
  /** The step at the fixed rate per channel. */
  fixed: StepResult;
  /** Highest rate per channel whose first run was sustained, and the deliveries/s it made. */
  maxRatePerChannel: number;
  maxDeliveriesPerSec: number;
  /** Highest rate per channel whose first run kept up (nothing lost, p99 under 1 s). */
  maxRatePerChannelWithoutLoss: number;
  steps: ClimbStep[];
}

/** Every target once per round, in turns, so that load from other programs falls on all alike. */
export async function perUserChannels(specs: TargetSpec[], options: PerUserChannelsOptions, log: (line: string) => void): Promise<PerUserChannelsResult[]> {
  const runs = new Map<string, PerUserChannelsRun[]>(specs.map((spec) => [spec.name, []]));
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    for (const spec of specs) runs.get(spec.name)!.push(await perUserOnce(spec, options, (line) => log(line.replace(`[${spec.name}]`, `[${spec.name} ${repeat + 1}/${options.repeats}]`))));
  }
  return specs.map((spec) => summarize(runs.get(spec.name)!));
}

function summarize(runs: PerUserChannelsRun[]): PerUserChannelsResult {
  const first = runs[0]!;
  const m = (pick: (step: StepResult) => number | undefined): number | undefined => medianOf(runs.map((r) => pick(r.fixed)));
  const fixed: StepResult = {
    ...first.fixed,
    p50Ms: m((s) => s.p50Ms)!,
    p99Ms: m((s) => s.p99Ms)!,
    maxMs: m((s) => s.maxMs)!,
    lost: Math.max(...runs.map((r) => r.fixed.lost)),
    deliveriesPerSec: m((s) => s.deliveriesPerSec)!,
    serverCpuMicrosPerDelivery: m((s) => s.serverCpuMicrosPerDelivery)!,
    serverCpuMicrosPerPublication: m((s) => s.serverCpuMicrosPerPublication)!,
    redisCpuMicrosPerPublication: m((s) => s.redisCpuMicrosPerPublication),
    redisCommandsPerPublication: m((s) => s.redisCommandsPerPublication),
    loopDelayP99Ms: m((s) => s.loopDelayP99Ms),
    loopDelayMaxMs: m((s) => s.loopDelayMaxMs),
  };
  const maxRatePerChannel = median(runs.map((r) => r.maxRatePerChannel));
  return {
    target: first.target,
    sockets: first.sockets,
    fixed,
    maxRatePerChannel,
    maxDeliveriesPerSec: maxRatePerChannel * first.sockets,
    maxRatePerChannelWithoutLoss: median(runs.map((r) => r.maxRatePerChannelWithoutLoss)),
    runs,
  };
}

async function perUserOnce(spec: TargetSpec, options: PerUserChannelsOptions, log: (line: string) => void): Promise<PerUserChannelsRun> {
  const target = await startTarget(spec, 1, options.redis.url);
  const probes = { pids: target.pids, loopDelay: target.loopDelay, redis: spec.redis ? options.redis : undefined };
  // One process holds the sockets and publishes from each of them: its publications are its own.
  const sockets = new LoadWorker();
  const channels = Array.from({ length: options.sockets }, (_, i) => `u-${i}`);
  const describe = (step: StepResult): string => `${(step.rate / options.sockets).toPrecision(2)}/s per channel, ${describeStep(step)}`;
  try {
    await sockets.ready;
    const connected = await sockets.connect({ protocol: spec.protocol, servers: target.servers, channels, localAddresses: sourceAddresses(Math.ceil(channels.length / PER_ADDRESS)), perAddress: PER_ADDRESS, concurrency: 200 });
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${channels.length} sockets could not connect`);
    const request: Omit<PublishRequest, 'op' | 'rate' | 'durationMs'> = { protocol: spec.protocol, mode: 'each', server: target.servers[0]!, channels };
    await warmUp(sockets, [sockets], request, 1);
    const step = (ratePerChannel: number, durationMs = options.stepMs): Promise<StepResult> =>
      runStep(sockets, [sockets], { ...request, rate: ratePerChannel * options.sockets, durationMs }, 1, probes);
    // Let the JIT compile the publish path before anything is measured.
    await step(options.fixedRatePerChannel);
    const fixed = await step(options.fixedRatePerChannel, options.fixedStepMs);
    log(`  [${spec.name}] fixed ${describe(fixed)}`);
    // The fixed step stands as the climb's step at its rate: it is not run twice.
    const result = await climb(step, options, (line) => log(`  [${spec.name}] ${line}`), describe, new Map([[options.fixedRatePerChannel, fixed]]));
    return {
      target: spec.name,
      sockets: options.sockets,
      fixed,
      maxRatePerChannel: result.maxSustainedRate,
      maxDeliveriesPerSec: result.maxSustainedRate * options.sockets,
      maxRatePerChannelWithoutLoss: result.maxKeptUpRate,
      steps: result.steps,
    };
  } finally {
    await sockets.exit();
    await target.stop();
  }
}
