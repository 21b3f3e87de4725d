import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventLoopDelay } from '../shared/event-loop-delay.ts';
import { BucketHistogram } from './bucket-histogram.ts';

/** What the operator metrics read; everything but the publish duration is read at scrape time. */
export interface OperatorMetricSources {
  /** Publications accepted by the broker, by namespace label (Namespaces.metricLabel). */
  publishedByNamespace(): ReadonlyMap<string, number>;
  /** Local subscriptions (subscriber × channel), by namespace label. */
  subscriptionsByNamespace(): Map<string, number>;
  /** Task queue depth (with Redis: the cluster's BullMQ queue). */
  taskDepth(): Promise<{ waiting: number; running: number }>;
  /** Tasks this process ran that failed (threw, timed out, or stalled too often). */
  taskFailures(): number;
}

/**
 * The metrics an operator of a cluster alerts on (docs/operations.md), added to the /metrics
 * registry. The per-message path pays one histogram observe per publish; per-namespace numbers and
 * queue depth are read when Prometheus scrapes.
 *
 * Returns the publish-duration observer.
 */
export function operatorMetrics(registry: Registry, sources: OperatorMetricSources, loopDelay: EventLoopDelay): { observePublish: (seconds: number) => void } {
  const publishDuration = new BucketHistogram({
    name: 'herald_publish_duration_seconds',
    help: 'Time from a publish being accepted to the broker confirming it',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // The gauge's window is its own: the node announcement reads p99s of the same samples without
  // resetting it. Two scrapers still share it, so the histogram is what dashboards and alerts
  // across processes should use (histogram_quantile over its rate).
  const sinceScrape = loopDelay.window();
  new Gauge({
    name: 'herald_event_loop_delay_seconds',
    help: '99th percentile of the event-loop delay since the previous scrape',
    registers: [registry],
    collect(this: Gauge) {
      this.set(sinceScrape.takeP99Ms() / 1000);
    },
  });
  const loopDelays = new BucketHistogram({
    name: 'herald_event_loop_delay_histogram_seconds',
    help: 'Event-loop delay of each 10 ms sample',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  loopDelay.onSample((seconds) => loopDelays.observe(seconds));
  new Counter({
    name: 'herald_namespace_publications_total',
    help: "Publications accepted by the broker, by namespace (declared names, '' and other)",
    labelNames: ['namespace'],
    registers: [registry],
    collect(this: Counter<'namespace'>) {
      this.reset();
      for (const [namespace, count] of sources.publishedByNamespace()) this.inc({ namespace }, count);
    },
  });
  new Gauge({
    name: 'herald_namespace_subscriptions',
    help: "Local subscriptions, by namespace (declared names, '' and other)",
    labelNames: ['namespace'],
    registers: [registry],
    collect(this: Gauge<'namespace'>) {
      this.reset();
      for (const [namespace, count] of sources.subscriptionsByNamespace()) this.set({ namespace }, count);
    },
  });
  new Gauge({
    name: 'herald_task_queue_depth',
    help: 'Tasks waiting to run (state="waiting") and running (state="running"); with Redis, across the cluster',
    labelNames: ['state'],
    registers: [registry],
    async collect(this: Gauge<'state'>) {
      try {
        const { waiting, running } = await sources.taskDepth();
        this.set({ state: 'waiting' }, waiting);
        this.set({ state: 'running' }, running);
      } catch {
        // Redis unreachable: the series drop out for this scrape; herald_broker_ready says why.
        this.reset();
      }
    },
  });
  new Counter({
    name: 'herald_task_failures_total',
    help: 'Tasks run by this process that failed (threw, timed out or stalled too often)',
    registers: [registry],
    collect(this: Counter) {
      this.reset();
      this.inc(sources.taskFailures());
    },
  });
  return { observePublish: (seconds) => publishDuration.observe(seconds) };
}
