/** Runs a schedule's handler for one tick on this process (schedule-registry.ts). */
export type RunTick = (name: string, tickMs: number) => Promise<void>;

/**
 * Where a due tick goes. Every process's timer reaches every tick; the dispatcher decides where
 * the handler runs: here (`LocalTickDispatcher`, no Redis) or on exactly one process of the cluster
 * through a durable queue (`DurableTicks`, durable-ticks.ts).
 */
export interface TickDispatcher {
  /** Makes schedule `name` runnable here (with Redis: this process starts taking its ticks). */
  open(name: string): Promise<void>;
  /** Tick `tickMs` of schedule `name` is due; `periodMs` is the time to the schedule's next tick. */
  due(name: string, tickMs: number, periodMs: number): Promise<void>;
  /** Takes no more ticks; waits until `deadline` (ms since the epoch) for handlers running here. */
  close(deadline: number): Promise<void>;
}

/** One process, no Redis: every tick runs here, when its timer fires. */
export class LocalTickDispatcher implements TickDispatcher {
  readonly #run: RunTick;

  constructor(run: RunTick) {
    this.#run = run;
  }

  async open(): Promise<void> {}

  due(name: string, tickMs: number): Promise<void> {
    return this.#run(name, tickMs);
  }

  async close(): Promise<void> {}
}
