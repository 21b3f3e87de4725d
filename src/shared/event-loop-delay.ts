import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** How often the event loop is sampled. */
export const LOOP_DELAY_RESOLUTION_MS = 10;

/** Delays above this are recorded as this (an hour: a process stuck that long has other problems). */
const HIGHEST_NS = 3600e9;

/** The delays seen since the reader last asked; each reader has its own, so none resets another's. */
export interface LoopDelayWindow {
  /** The 99th percentile of the delays since the previous call (0 before the first sample), in ms; starts a new window. */
  takeP99Ms(): number;
}

/**
 * The process's one event-loop delay monitor, shared by /metrics and the node announcement: a
 * timer that every {@link LOOP_DELAY_RESOLUTION_MS} records how late it fired. Two
 * `monitorEventLoopDelay`s (one per reader, each reset by its own reader) would sample the loop
 * twice for the same number. The sampling period itself is not counted, so an idle process reads 0.
 */
export class EventLoopDelay {
  readonly #listeners: Array<(seconds: number) => void> = [];
  readonly #windows: RecordableHistogram[] = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  constructor() {
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#sample(), LOOP_DELAY_RESOLUTION_MS).unref();
  }

  /** Calls `listener` with every sample's delay, in seconds. */
  onSample(listener: (seconds: number) => void): void {
    this.#listeners.push(listener);
  }

  /** A reader's own window of delays. */
  window(): LoopDelayWindow {
    const histogram = createHistogram({ lowest: 1, highest: HIGHEST_NS, figures: 2 });
    this.#windows.push(histogram);
    return {
      takeP99Ms: () => {
        const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
        histogram.reset();
        return p99;
      },
    };
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sample(): void {
    const now = performance.now();
    const delayMs = Math.max(0, now - this.#last - LOOP_DELAY_RESOLUTION_MS);
    this.#last = now;
    const nanoseconds = Math.min(HIGHEST_NS, Math.max(1, Math.round(delayMs * 1e6)));
    for (const window of this.#windows) window.record(nanoseconds);
    for (const listener of this.#listeners) listener(delayMs / 1000);
  }
}
