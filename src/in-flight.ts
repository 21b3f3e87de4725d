import { settlesBefore } from './deadline.ts';

/**
 * Writes started in the background that shutdown must let finish before it closes the connections
 * they go through (a closing socket's presence leaves, for instance).
 */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** Remembers `work` until it settles. */
  track(work: Promise<unknown>): void {
    const settled: Promise<unknown> = work.then(
      () => this.#pending.delete(settled),
      () => this.#pending.delete(settled),
    );
    this.#pending.add(settled);
  }

  /** Waits until every tracked write has settled, or until `deadline`; whether they all did. */
  async settled(deadline: number): Promise<boolean> {
    for (;;) {
      // Settling writes may start others (a leave, then its publication): wait until none is left.
      if (this.#pending.size === 0) return true;
      if (!(await settlesBefore(Promise.allSettled([...this.#pending]), deadline))) return false;
    }
  }
}
