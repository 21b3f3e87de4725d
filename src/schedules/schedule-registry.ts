import type { FastifyBaseLogger } from 'fastify';
import { ConfigError } from '../config.ts';
import type { TickElection } from './tick-election.ts';
import { tickClock, type ScheduleTiming, type TickClock } from './schedule-timing.ts';

/** What a schedule handler is told about the tick it fires. */
export interface ScheduleTick {
  /** The schedule's name. */
  name: string;
  /** The tick's scheduled time (not the moment the timer fired): the same on every process. */
  time: Date;
}

export type ScheduleHandler = (tick: ScheduleTick) => unknown;

interface Schedule {
  name: string;
  clock: TickClock;
  handler: ScheduleHandler;
  timer: NodeJS.Timeout | undefined;
}

const SCHEDULE_NAME = /^[A-Za-z0-9_\-.]{1,100}$/;

/**
 * The schedules of this process. Each runs its own timer to its next tick; when the timer fires,
 * the election decides whether this process runs the handler for that tick (with Redis: exactly
 * one process of the cluster; without: this one).
 */
export class ScheduleRegistry {
  readonly #schedules = new Map<string, Schedule>();
  readonly #log: FastifyBaseLogger;
  #election: TickElection | undefined;

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  define(name: string, timing: ScheduleTiming, handler: ScheduleHandler): void {
    if (!SCHEDULE_NAME.test(name)) {
      throw new ConfigError(`schedule name must be 1-100 letters, digits or _ - ., got ${JSON.stringify(name)}`);
    }
    if (this.#schedules.has(name)) throw new ConfigError(`schedule ${JSON.stringify(name)} is already defined`);
    if (typeof handler !== 'function') throw new ConfigError(`schedule ${JSON.stringify(name)} needs a handler function`);
    const schedule: Schedule = { name, clock: tickClock(name, timing), handler, timer: undefined };
    this.#schedules.set(name, schedule);
    if (this.#election !== undefined) this.#arm(schedule, Date.now());
  }

  get size(): number {
    return this.#schedules.size;
  }

  start(election: TickElection): void {
    this.#election = election;
    const now = Date.now();
    for (const schedule of this.#schedules.values()) this.#arm(schedule, now);
  }

  stop(): void {
    this.#election = undefined;
    for (const schedule of this.#schedules.values()) {
      clearTimeout(schedule.timer);
      schedule.timer = undefined;
    }
  }

  #arm(schedule: Schedule, afterMs: number): void {
    const tick = schedule.clock.next(afterMs);
    if (!Number.isFinite(tick)) return;
    // setTimeout's limit is 2^31-1 ms; a tick further away re-arms on the way.
    const delay = Math.min(Math.max(0, tick - Date.now()), 2 ** 31 - 1);
    schedule.timer = setTimeout(() => {
      if (this.#election === undefined) return;
      const now = Date.now();
      if (now < tick) return this.#arm(schedule, afterMs);
      // A tick at most one period overdue (a busy event loop) still fires, late; older ones are
      // skipped, so a process that was stalled does not fire a burst of stale ticks.
      const period = schedule.clock.next(tick) - tick;
      this.#arm(schedule, Math.max(tick, now - period));
      if (now - tick <= period) void this.#fire(schedule, tick);
      else this.#log.warn({ schedule: schedule.name, tick: new Date(tick).toISOString() }, 'schedule tick skipped: the process was busy for over a period');
    }, delay);
    schedule.timer.unref();
  }

  async #fire(schedule: Schedule, tick: number): Promise<void> {
    const election = this.#election;
    if (election === undefined) return;
    const hold = Math.max(schedule.clock.next(tick) - tick, 1000) * 2;
    let won: boolean;
    try {
      won = await election.claim(schedule.name, tick, hold);
    } catch (error) {
      this.#log.warn({ schedule: schedule.name, tick: new Date(tick).toISOString(), err: error }, 'schedule tick skipped: could not reach Redis');
      return;
    }
    if (!won) return;
    try {
      await schedule.handler({ name: schedule.name, time: new Date(tick) });
    } catch (error) {
      this.#log.error({ schedule: schedule.name, tick: new Date(tick).toISOString(), err: error }, 'schedule handler failed');
    }
  }
}
