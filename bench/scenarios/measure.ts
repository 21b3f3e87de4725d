import { cpuMs, sleep } from '../lib/children.ts';
import { maxMs, quantileMs } from '../lib/histogram.ts';
import type { BenchRedis } from '../lib/redis-server.ts';
import { combinedReport, type LoadWorker } from '../loadgen/load-worker.ts';
import type { PublishRequest } from '../loadgen/protocol.ts';
import type { LoopDelay } from '../targets/targets.ts';

/** What is measured around a step besides the deliveries: the target's processes and its Redis. */
export interface StepProbes {
  pids: number[];
  /** The event-loop delay of each server process since the previous call (RunningTarget.loopDelay). */
  loopDelay?: () => Promise<LoopDelay[]>;
  /** The Redis the target uses, if any: its CPU and commands are counted per publication. */
  redis?: BenchRedis | undefined;
}

/** One publishing run at a fixed rate, and what the subscribers saw. */
export interface StepResult {
  rate: number;
  sent: number;
  /** Deliveries expected (sent × subscribers of each publication) and counted. */
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  /** Deliveries per second over the publishing time. */
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server CPU (all target processes) per delivery, in µs. */
  serverCpuMicrosPerDelivery: number;
  /** Server CPU (all target processes) per publication, in µs. */
  serverCpuMicrosPerPublication: number;
  /** redis-server CPU per publication, in µs (absent when the target uses no Redis or it is not local). */
  redisCpuMicrosPerPublication?: number;
  /** Redis commands (all kinds, `INFO commandstats`) per publication. */
  redisCommandsPerPublication?: number;
  /** Calls of each Redis command during the step (the bench's own INFO calls left out). */
  redisCommands?: Record<string, number>;
  /** Event-loop delay of each server process over the step (publishing and draining). */
  loopDelay?: LoopDelay[];
  /** The worst process's p99 and max event-loop delay over the step, in ms. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
  /** The longest garbage-collector pause of any server process over the step, in ms. */
  gcMaxMs?: number;
  /** Which kind of collection that pause was (minor, major, incremental, weak). */
  gcMaxKind?: string;
  /** Times the server processes were preempted by another program over the step, summed. */
  preempted?: number;
  /** Publications the HTTP API did not accept. */
  publishErrors: number;
  /** The publisher could not keep the rate (the step took >25% longer than planned). */
  publisherBehind: boolean;
}

/**
 * Publishes at `request.rate` for `request.durationMs`, then waits (up to `drainMs`) until every
 * expected delivery has arrived; whatever has not arrived by then is lost.
 */
export async function runStep(
  publisher: LoadWorker,
  subscribers: LoadWorker[],
  request: Omit<PublishRequest, 'op'>,
  receiversPerPublication: number,
  probes: StepProbes,
  drainMs = 3000,
): Promise<StepResult> {
  const serverPids = probes.pids;
  const from = await publisher.nextSeq();
  await Promise.all(subscribers.map((s) => s.reset(from)));
  const commandsBefore = await probes.redis?.commandCalls();
  const redisCpuBefore = probes.redis?.cpuMs() ?? Number.NaN;
  await probes.loopDelay?.();
  const cpuBefore = serverPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const published = await publisher.publish(request);
  const expected = published.sent * receiversPerPublication;
  const deadline = Date.now() + drainMs;
  let report = await combinedReport(subscribers);
  while (report.received < expected && Date.now() < deadline) {
    await sleep(100);
    report = await combinedReport(subscribers);
  }
  const cpuAfter = serverPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const loopDelay = await probes.loopDelay?.();
  const redisCpuAfter = probes.redis?.cpuMs() ?? Number.NaN;
  const commandsAfter = await probes.redis?.commandCalls();
  const perPublication = (value: number): number => (published.sent > 0 ? Math.round((value * 10) / published.sent) / 10 : Number.NaN);
  const redis: Partial<StepResult> = {};
  if (commandsBefore !== undefined && commandsAfter !== undefined) {
    const calls: Record<string, number> = {};
    for (const [name, count] of Object.entries(commandsAfter)) {
      const delta = count - (commandsBefore[name] ?? 0);
      if (delta > 0 && name !== 'info') calls[name] = delta;
    }
    redis.redisCommands = calls;
    redis.redisCommandsPerPublication = perPublication(Object.values(calls).reduce((a, b) => a + b, 0));
    if (Number.isFinite(redisCpuBefore)) redis.redisCpuMicrosPerPublication = perPublication((redisCpuAfter - redisCpuBefore) * 1000);
  }
  const loop: Partial<StepResult> = {};
  if (loopDelay !== undefined) {
    loop.loopDelay = loopDelay;
    loop.loopDelayP99Ms = Math.max(...loopDelay.map((l) => l.percentilesMs.p99 ?? Number.NaN));
    loop.loopDelayMaxMs = Math.max(...loopDelay.map((l) => l.maxMs));
    if (loopDelay.every((l) => l.gc !== undefined)) {
      const longest = loopDelay.reduce((a, b) => (b.gc!.maxMs > a.gc!.maxMs ? b : a));
      loop.gcMaxMs = longest.gc!.maxMs;
      loop.gcMaxKind = longest.gc!.maxKind;
      loop.preempted = loopDelay.reduce((sum, l) => sum + (l.preempted ?? 0), 0);
    }
  }
  return {
    rate: request.rate,
    sent: published.sent,
    expected,
    received: report.received,
    lost: Math.max(0, expected - report.received),
    duplicates: report.duplicates,
    deliveriesPerSec: Math.round(report.received / (published.ms / 1000)),
    p50Ms: quantileMs(report.histogram, 0.5),
    p99Ms: quantileMs(report.histogram, 0.99),
    maxMs: maxMs(report.histogram),
    serverCpuMicrosPerDelivery: report.received > 0 ? Math.round(((cpuAfter - cpuBefore) * 1000 * 10) / report.received) / 10 : Number.NaN,
    serverCpuMicrosPerPublication: perPublication((cpuAfter - cpuBefore) * 1000),
    ...redis,
    ...loop,
    publishErrors: published.errors,
    publisherBehind: published.ms > request.durationMs * 1.25 + 100,
  };
}

/** Publishes slowly until every subscriber has received something (all subscriptions are live). */
export async function warmUp(publisher: LoadWorker, subscribers: LoadWorker[], request: Omit<PublishRequest, 'op' | 'rate' | 'durationMs'>, publications = 5): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const from = await publisher.nextSeq();
    await Promise.all(subscribers.map((s) => s.reset(from)));
    const total = request.channels.length * publications;
    const rate = request.channels.length === 1 ? 20 : Math.min(request.channels.length, 5000);
    await publisher.publish({ ...request, rate, durationMs: Math.ceil((total * 1000) / rate) });
    await sleep(300);
    const report = await combinedReport(subscribers);
    if (report.none === 0 && report.open > 0) return;
  }
  throw new Error('warm-up: some subscribers never received a publication');
}

/** Is this step within the targets' definition of sustained: nothing lost, p99 under 50 ms, rate kept? */
export function sustained(step: StepResult): boolean {
  return step.lost === 0 && step.duplicates === 0 && step.p99Ms <= 50 && !step.publisherBehind && step.publishErrors === 0;
}

/** Did the server keep up at all: nothing lost, rate kept, and no growing backlog (p99 under 1 s)? */
export function keptUp(step: StepResult): boolean {
  return step.lost === 0 && step.duplicates === 0 && step.p99Ms <= 1000 && !step.publisherBehind && step.publishErrors === 0;
}
