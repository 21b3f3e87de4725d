import type { FastifyBaseLogger } from 'fastify';
import { ConfigError } from '../config.ts';
import { settlesBefore } from '../deadline.ts';
import type { TickDispatcher } from './tick-dispatcher.ts';
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
 * the tick goes to the dispatcher, which runs the handler here (no Redis) or hands the tick to the
 * cluster's durable queue, where exactly one process takes it (durable-ticks.ts).
 */
export class ScheduleRegistry {
  readonly #schedules = new Map<string, Schedule>();
  readonly #log: FastifyBaseLogger;
  #dispatcher: TickDispatcher | undefined;
  /** Handlers running on this process, so that shutdown can wait for them. */
  readonly #running = new Set<Promise<void>>();

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
    if (this.#dispatcher !== undefined) this.#open(this.#dispatcher, schedule);
  }

  get size(): number {
    return this.#schedules.size;
  }

  /** Starts every schedule's timer, and lets the dispatcher take their ticks. */
  async start(dispatcher: TickDispatcher): Promise<void> {
    this.#dispatcher = dispatcher;
    await Promise.all([...this.#schedules.values()].map((schedule) => dispatcher.open(schedule.name)));
    const now = Date.now();
    for (const schedule of this.#schedules.values()) this.#arm(schedule, now);
  }

  /** Stops the timers: this process marks no more ticks due. */
  stop(): void {
    this.#dispatcher = undefined;
    for (const schedule of this.#schedules.values()) {
      clearTimeout(schedule.timer);
      schedule.timer = undefined;
    }
  }

  /** Waits until `deadline` for the handlers running on this process; whether they all finished. */
  async drain(deadline: number): Promise<boolean> {
    return this.#running.size === 0 || settlesBefore(Promise.allSettled([...this.#running]), deadline);
  }

  /**
   * Runs schedule `name`'s handler for tick `tickMs` here. A handler that throws is logged; the
   * schedule goes on. The dispatcher calls this on the one process that runs the tick.
   */
  run = (name: string, tickMs: number): Promise<void> => {
    const schedule = this.#schedules.get(name);
    if (schedule === undefined) return Promise.reject(new Error(`No schedule ${JSON.stringify(name)} on this process`));
    const running = (async () => {
      try {
        await schedule.handler({ name, time: new Date(tickMs) });
      } catch (error) {
        this.#log.error({ schedule: name, tick: new Date(tickMs).toISOString(), err: error }, 'schedule handler failed');
      }
    })();
    this.#running.add(running);
    return running.finally(() => this.#running.delete(running));
  };

  #open(dispatcher: TickDispatcher, schedule: Schedule): void {
    dispatcher.open(schedule.name).then(
      () => {
        if (this.#dispatcher === dispatcher) this.#arm(schedule, Date.now());
      },
      (error: unknown) => this.#log.error({ schedule: schedule.name, err: error }, 'schedule could not start'),
    );
  }

  #arm(schedule: Schedule, afterMs: number): void {
    const tick = schedule.clock.next(afterMs);
    if (!Number.isFinite(tick)) return;
    // setTimeout's limit is 2^31-1 ms; a tick further away re-arms on the way.
    const delay = Math.min(Math.max(0, tick - Date.now()), 2 ** 31 - 1);
    schedule.timer = setTimeout(() => {
      if (this.#dispatcher === undefined) return;
      const now = Date.now();
      if (now < tick) return this.#arm(schedule, afterMs);
      // A tick at most one period overdue (a busy event loop) still fires, late; older ones are
      // skipped, so a process that was stalled does not fire a burst of stale ticks.
      const period = schedule.clock.next(tick) - tick;
      this.#arm(schedule, Math.max(tick, now - period));
      if (now - tick <= period) this.#fire(schedule, tick);
      else this.#log.warn({ schedule: schedule.name, tick: new Date(tick).toISOString() }, 'schedule tick skipped: the process was busy for over a period');
    }, delay);
    schedule.timer.unref();
  }

  #fire(schedule: Schedule, tick: number): void {
    const dispatcher = this.#dispatcher;
    if (dispatcher === undefined) return;
    dispatcher.due(schedule.name, tick, schedule.clock.next(tick) - tick).catch((error: unknown) => {
      this.#log.error({ schedule: schedule.name, tick: new Date(tick).toISOString(), err: error }, 'schedule tick failed');
    });
  }
}
