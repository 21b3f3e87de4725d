import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Preloaded into every server the bench starts (`--import`), for every target alike: samples the
 * event loop's delay (a 10 ms timer, nothing on the publish path) and, on SIGUSR2, writes what it
 * saw since the previous SIGUSR2 to `BENCH_LOOP_DELAY_FILE` and starts afresh. The bench signals
 * before and after each step, so each step gets the delays of its own time only: pauses (GC,
 * periodic work) show here even when the step's latency percentiles hide them.
 *
 * Node records the time between two runs of its sampling timer, the 10 ms period included; the
 * report subtracts it, so 0 means "no delay".
 */
const file = process.env.BENCH_LOOP_DELAY_FILE;
if (file !== undefined) {
  const RESOLUTION_MS = 10;
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let sequence = 0;
  process.on('SIGUSR2', () => {
    const ms = (ns: number): number => Math.max(0, Math.round(ns / 1e4 - RESOLUTION_MS * 100) / 100);
    const percentiles: Record<string, number> = {};
    for (const p of [50, 90, 99, 99.9]) percentiles[`p${p}`] = ms(histogram.percentile(p));
    const report = { sequence: ++sequence, samples: histogram.count, meanMs: ms(histogram.count > 0 ? histogram.mean : 0), maxMs: ms(histogram.count > 0 ? histogram.max : 0), percentilesMs: percentiles };
    histogram.reset();
    writeFileSync(file, JSON.stringify(report));
  });
}
