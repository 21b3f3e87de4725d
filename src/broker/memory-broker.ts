import { Publication } from '../channels/publication.ts';
import { MemoryHistory } from '../history/memory-history.ts';
import type { Broker, BrokerHealth, PublicationSink, PublishOptions, PublishResult } from './broker.ts';

/** The embedded broker: one process, no dependencies. Publications are delivered synchronously. */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  readonly history: MemoryHistory;
  #sink: PublicationSink | undefined;
  #subscribed = new Set<string>();

  /** The history's caps: see MEMORY_HISTORY_MAX_CHANNELS and MEMORY_HISTORY_MAX_IDEMPOTENCY_KEYS. */
  constructor(options: { maxHistoryChannels?: number; maxIdempotencyKeys?: number } = {}) {
    this.history = new MemoryHistory({ maxChannels: options.maxHistoryChannels, maxIdempotencyKeys: options.maxIdempotencyKeys });
  }

  async start(sink: PublicationSink): Promise<void> {
    this.#sink = sink;
  }

  async publish(channel: string, json: string, options: PublishOptions = {}): Promise<PublishResult> {
    let position;
    if (options.history !== undefined || options.idempotencyKey !== undefined) {
      const appended = this.history.append(channel, json, options.event === undefined ? options.history : undefined, options.idempotencyKey);
      if (appended.duplicate) return { reached: 0, duplicate: true, ...appended.position };
      position = appended.position;
    }
    if (!this.#subscribed.has(channel) || this.#sink === undefined) return { reached: 0, ...position };
    // Built field by field, not spread: this runs once per publication.
    if (position === undefined) {
      this.#sink(new Publication(channel, json, { from: options.from, event: options.event }, options.text));
      return { reached: 1 };
    }
    this.#sink(new Publication(channel, json, { from: options.from, event: options.event, offset: position.offset, epoch: position.epoch }, options.text));
    return { reached: 1, offset: position.offset, epoch: position.epoch };
  }

  async subscribe(channel: string): Promise<void> {
    this.#subscribed.add(channel);
    this.history.subscribed(channel);
  }

  unsubscribe(channel: string): void {
    this.#subscribed.delete(channel);
    this.history.unsubscribed(channel);
  }

  health(): BrokerHealth {
    return { ready: true, connections: { memory: 'ready' } };
  }

  async close(): Promise<void> {
    this.#sink = undefined;
    this.#subscribed.clear();
    this.history.close();
  }
}
