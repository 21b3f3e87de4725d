import { sleep } from '../lib/children.ts';
import { keptUp, sustained, type StepResult } from './measure.ts';

/**
 * The climb shared by the rate-finding scenarios: the rate doubles from `startRate` until the
 * target no longer keeps up (a loss, the publisher behind, or p99 over 1 s: a growing backlog), is
 * bisected between the last rate it kept up with and the first it did not (max without loss), and
 * then bisected again for the max with p99 under 50 ms (on a busy machine latency fails long before
 * throughput does, so both are reported).
 *
 * A step passes only when its first run passes. A failed step is run again up to `attempts - 1`
 * times and every run is reported beside it, so that a pause that comes back is seen as one: the
 * retries say whether it was noise, they never turn a failure into a pass (a bench that keeps the
 * better of two runs hides exactly the stalls it should find).
 */
export interface ClimbOptions {
  /** First rate of the climb; it doubles from there up to `maxRate`. */
  startRate: number;
  maxRate: number;
  /** Bisection steps between the last rate kept up with and the first that was not. */
  bisections: number;
  /** Bisection steps of the latency max (p99 under 50 ms), after the climb. */
  latencyBisections: number;
  /** Runs of a failed step in all (the first decides; the others are shown beside it). */
  attempts: number;
  /** Pause before a failed step is run again. */
  retryPauseMs: number;
}

export interface ClimbStep {
  rate: number;
  /** The run that decides. */
  first: StepResult;
  /** Runs after a failed first run, shown beside it (they do not change the verdict). */
  retries: StepResult[];
  sustained: boolean;
  keptUp: boolean;
}

export interface ClimbResult {
  /** Highest rate whose first run was sustained (p99 under 50 ms, nothing lost, rate kept); 0 if none. */
  maxSustainedRate: number;
  /** Highest rate whose first run kept up (nothing lost, p99 under 1 s, rate kept); 0 if none. */
  maxKeptUpRate: number;
  steps: ClimbStep[];
}

/**
 * `measured`: runs made already (a scenario's fixed-rate steps), by the climb's rate. One whose rate
 * the climb reaches stands as the climb's first run at that rate instead of a new one: it was made
 * the same way, and measuring the same rate twice only makes the run longer.
 */
export async function climb(
  run: (rate: number) => Promise<StepResult>,
  options: ClimbOptions,
  log: (line: string) => void,
  describe: (step: StepResult) => string,
  measured: ReadonlyMap<number, StepResult> = new Map(),
): Promise<ClimbResult> {
  const steps: ClimbStep[] = [];
  const reuse = new Map(measured);
  const attempt = async (rate: number): Promise<ClimbStep> => {
    const given = reuse.get(rate);
    reuse.delete(rate);
    const first = given ?? (await run(rate));
    const step: ClimbStep = { rate, first, retries: [], sustained: sustained(first), keptUp: keptUp(first) };
    if (given === undefined) log(`${describe(first)}${step.sustained ? '' : step.keptUp ? '  [over 50 ms]' : '  [failed]'}`);
    for (let retry = 1; retry < options.attempts && !step.sustained; retry++) {
      await sleep(options.retryPauseMs);
      const again = await run(rate);
      step.retries.push(again);
      log(`  retry ${retry} (shown, does not count): ${describe(again)}`);
      if (sustained(again)) break;
    }
    steps.push(step);
    return step;
  };
  let good = 0;
  let bad: number | undefined;
  for (let rate = options.startRate; rate <= options.maxRate; rate *= 2) {
    if (!(await attempt(rate)).keptUp) {
      bad = rate;
      break;
    }
    good = rate;
  }
  // Nothing kept up at all: reported as 0 ("below the start rate") without probing lower.
  if (bad !== undefined && good > 0) good = await bisect(good, bad, options.bisections, async (rate) => (await attempt(rate)).keptUp);
  // The latency max gets its own bisection: the climb doubles, so without it a target whose p99
  // crosses 50 ms anywhere between 1,600 and 3,200 publications/s would score 1,600 whether it
  // held 1,700 or 3,100, and two targets a few percent apart would differ by 2x.
  const sustainedRates = steps.filter((s) => s.sustained).map((s) => s.rate);
  let latencyGood = sustainedRates.length > 0 ? Math.max(...sustainedRates) : 0;
  const failedAbove = steps.filter((s) => !s.sustained && s.rate > latencyGood).map((s) => s.rate);
  if (failedAbove.length > 0 && latencyGood > 0) {
    latencyGood = await bisect(latencyGood, Math.min(...failedAbove), options.latencyBisections, async (rate) => (await attempt(rate)).sustained);
  }
  return { maxSustainedRate: latencyGood, maxKeptUpRate: good, steps };
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

/** 1234 → 1200, 87.5 → 88, 1.5 → 1.5: rates with two significant digits. */
function roundTo2Digits(value: number): number {
  const scale = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Number((Math.round(value / scale) * scale).toPrecision(2));
}
