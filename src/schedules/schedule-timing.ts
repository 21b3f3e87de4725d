import { Cron } from 'croner';
import { ConfigError } from '../config.ts';

/** When a schedule fires: a cron pattern with seconds, or a fixed interval. */
export type ScheduleTiming =
  /** Six fields, seconds first: `'*\/5 * * * * *'` is every 5 s. Five fields mean second 0. */
  | { cron: string; timezone?: string }
  /** Every `everyMs` milliseconds, aligned to multiples of `everyMs` since the Unix epoch. */
  | { everyMs: number };

/**
 * Computes tick times. A tick is identified by its scheduled time (ms since the epoch), never by
 * the moment a timer happened to fire, so every process names the same tick the same way and the
 * durable queue (durable-ticks.ts) can queue each tick exactly once.
 *
 * Intervals are aligned to the epoch rather than to process start, for the same reason; croner's
 * own `interval` option counts from each process's start and could not be shared.
 */
export interface TickClock {
  /** The first tick strictly after `afterMs`. */
  next(afterMs: number): number;
}

export function tickClock(name: string, timing: ScheduleTiming): TickClock {
  if ('everyMs' in timing) {
    const every = timing.everyMs;
    if (!Number.isInteger(every) || every < 10) {
      throw new ConfigError(`schedule ${JSON.stringify(name)}: everyMs must be a whole number of at least 10, got ${JSON.stringify(every)}`);
    }
    return { next: (afterMs) => (Math.floor(afterMs / every) + 1) * every };
  }
  if (typeof timing.cron !== 'string') {
    throw new ConfigError(`schedule ${JSON.stringify(name)}: give { cron: '<pattern>' } or { everyMs: <ms> }`);
  }
  let cron: Cron;
  try {
    // Used only to compute times (paused: croner runs no timer of its own here).
    cron = new Cron(timing.cron, { paused: true, ...(timing.timezone === undefined ? {} : { timezone: timing.timezone }) });
  } catch (error) {
    throw new ConfigError(`schedule ${JSON.stringify(name)}: bad cron pattern ${JSON.stringify(timing.cron)}: ${(error as Error).message}`);
  }
  return {
    next(afterMs) {
      const next = cron.nextRun(new Date(afterMs));
      if (next === null) return Number.POSITIVE_INFINITY;
      return next.getTime();
    },
  };
}
