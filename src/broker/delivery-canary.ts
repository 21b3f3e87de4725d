import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Histogram, type Registry } from 'prom-client';
import type { Publication } from '../channels/publication.ts';
import type { Broker, PublicationSink } from './broker.ts';

/** What /readyz reports about the canary. */
export interface CanaryState {
  /** False once no canary has come back for longer than `thresholdMs`. */
  ok: boolean;
  /** Round trip of the last canary that came back, in ms (null before the first). */
  lastRoundTripMs: number | null;
  /** How far past `thresholdMs` the wait for a returning canary is (0 while ok). */
  overdueMs: number;
  /** How long without a returning canary makes the process not ready. */
  thresholdMs: number;
}

/**
 * Added to two intervals to form the threshold: room for one slow round trip on a loaded machine
 * without flapping readiness.
 */
const THRESHOLD_MARGIN_MS = 1000;

/**
 * Proves that this process's Pub/Sub delivers, not only that its Redis connections look open.
 *
 * Every `intervalMs` the process publishes one small message through the broker on its own channel
 * (`#canary:<id>`: `#` is outside the client channel alphabet, so no client can subscribe to it)
 * and expects it back on its subscriber connection. A subscriber connection that is paused,
 * half-open or has lost its subscription looks "ready" to ioredis while delivering nothing; the
 * canary turns that into "not ready" once none has returned for `2 × intervalMs + 1 s`.
 *
 * The canary bypasses the subscriber registry and the publisher, so it is not counted as a channel
 * in /api/stats nor as a publication in /metrics, and it is never kept in history.
 */
export class DeliveryCanary {
  readonly channel = `#canary:${randomUUID()}`;
  readonly intervalMs: number;
  readonly thresholdMs: number;
  readonly #broker: Broker;
  readonly #onRoundTrip: (seconds: number) => void;
  #timer: NodeJS.Timeout | undefined;
  /** When a canary last came back (or the canary started), in performance.now() ms. */
  #lastReturnAt = performance.now();
  #lastRoundTripMs: number | null = null;
  /** One canary publish at a time: a paused Redis must not collect a queue of them. */
  #publishing = false;
  #sequence = 0;

  /** `metrics`: the /metrics registry, which gets the `herald_canary_round_trip_seconds` histogram. */
  constructor(broker: Broker, options: { intervalMs: number; metrics?: Registry }) {
    this.#broker = broker;
    this.intervalMs = options.intervalMs;
    this.thresholdMs = 2 * options.intervalMs + THRESHOLD_MARGIN_MS;
    const metrics = options.metrics;
    if (metrics === undefined) {
      this.#onRoundTrip = () => {};
    } else {
      const roundTrips = new Histogram({
        name: 'herald_canary_round_trip_seconds',
        help: 'Round trip of the delivery canary: published by this process, received back on its Redis subscriber connection',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [metrics],
      });
      this.#onRoundTrip = (seconds) => roundTrips.observe(seconds);
    }
  }

  /**
   * Wraps the broker's sink: canaries are taken out here, everything else goes on to `next`.
   * The only cost per publication is one string comparison.
   */
  sink(next: PublicationSink): PublicationSink {
    const channel = this.channel;
    return (publication) => (publication.channel === channel ? this.#returned(publication) : next(publication));
  }

  /** Subscribes the canary channel and starts publishing; call after the broker started. */
  async start(): Promise<void> {
    await this.#broker.subscribe(this.channel);
    this.#lastReturnAt = performance.now();
    this.#timer = setInterval(() => this.#send(), this.intervalMs);
    this.#timer.unref();
    this.#send();
  }

  state(): CanaryState {
    const overdueMs = Math.max(0, Math.round(performance.now() - this.#lastReturnAt - this.thresholdMs));
    return { ok: overdueMs === 0, lastRoundTripMs: this.#lastRoundTripMs, overdueMs, thresholdMs: this.thresholdMs };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #send(): void {
    if (this.#publishing) return;
    this.#publishing = true;
    const sentAt = performance.now();
    // The send time travels in the message, so a late canary still measures its own round trip.
    const json = JSON.stringify({ seq: ++this.#sequence, sentAt });
    this.#broker.publish(this.channel, json).then(
      () => (this.#publishing = false),
      // Not published, or outcome unknown: readiness notices through the missing return.
      () => (this.#publishing = false),
    );
  }

  #returned(publication: Publication): void {
    let sentAt: unknown;
    try {
      sentAt = (JSON.parse(publication.json) as { sentAt?: unknown }).sentAt;
    } catch {
      return;
    }
    if (typeof sentAt !== 'number') return;
    const now = performance.now();
    this.#lastReturnAt = now;
    this.#lastRoundTripMs = Math.round((now - sentAt) * 100) / 100;
    this.#onRoundTrip((now - sentAt) / 1000);
  }
}
