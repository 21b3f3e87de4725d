import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/**
 * Preloaded into every server the bench starts (`--import`), for every target alike: samples the
 * event loop's delay (a 10 ms timer, nothing on the publish path) and, on SIGUSR2, writes what it
 * saw since the previous SIGUSR2 to `BENCH_LOOP_DELAY_FILE` and starts afresh. The bench signals
 * before and after each step, so each step gets the delays of its own time only: pauses (GC,
 * periodic work) show here even when the step's latency percentiles hide them.
 *
 * Node records the time between two runs of its sampling timer, the 10 ms period included; the
 * report subtracts it, so 0 means "no delay".
 *
 * Beside the delay it reports what can cause one, so a stall can be attributed: the garbage
 * collector's pauses (from the `gc` performance entries, which V8 reports per collection, not per
 * message) and the times the kernel took the CPU away from the process while it could run
 * (`nonvoluntary_ctxt_switches` in /proc/self/status: another program on the same CPU).
 */
const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file !== undefined) {
  const RESOLUTION_MS = 10;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak', 16: 'all' };
  let gc = { count: 0, totalMs: 0, maxMs: 0, maxKind: '', byKind: {} as Record<string, { count: number; totalMs: number }> };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KINDS[((entry as { detail?: { kind?: number } }).detail)?.kind ?? 0] ?? 'other';
      const own = (gc.byKind[kind] ??= { count: 0, totalMs: 0 });
      own.count++;
      own.totalMs = Math.round((own.totalMs + entry.duration) * 100) / 100;
      gc.count++;
      gc.totalMs += entry.duration;
      if (entry.duration > gc.maxMs) {
        gc.maxMs = entry.duration;
        gc.maxKind = kind;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  const preempted = (): number => {
    const match = /nonvoluntary_ctxt_switches:\s*(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? Number.NaN : Number(match[1]);
  };
  let preemptedBefore = preempted();
  let sequence = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    const round = (value: number): number => Math.round(value * 100) / 100;
    const percentiles: Record<string, number> = {};
    for (const p of [50, 90, 99, 99.9]) percentiles[`p${p}`] = ms(histogram.percentile(p));
    const preemptedNow = preempted();
    const report = {
      sequence: ++sequence,
      samples: histogram.count,
      meanMs: ms(histogram.count > 0 ? histogram.mean : 0),
      maxMs: ms(histogram.count > 0 ? histogram.max : 0),
      percentilesMs: percentiles,
      gc: { count: gc.count, totalMs: round(gc.totalMs), maxMs: round(gc.maxMs), maxKind: gc.maxKind, byKind: gc.byKind },
      preempted: preemptedNow - preemptedBefore,
    };
    histogram.reset();
    gc = { count: 0, totalMs: 0, maxMs: 0, maxKind: '', byKind: {} };
    preemptedBefore = preemptedNow;
    writeFileSync(file, JSON.stringify(report));
  });
}
