import { Publication } from '../channels/publication.ts';
import type { Broker, BrokerHealth, PublicationSink, PublishOptions, PublishResult } from './broker.ts';

/** The embedded broker: one process, no dependencies. Publications are delivered synchronously. */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  #sink: PublicationSink | undefined;
  #subscribed = new Set<string>();

  async start(sink: PublicationSink): Promise<void> {
    this.#sink = sink;
  }

  async publish(channel: string, json: string, options: PublishOptions = {}): Promise<PublishResult> {
    if (!this.#subscribed.has(channel) || this.#sink === undefined) return { reached: 0 };
    this.#sink(new Publication(channel, json, { from: options.from }));
    return { reached: 1 };
  }

  async subscribe(channel: string): Promise<void> {
    this.#subscribed.add(channel);
  }

  unsubscribe(channel: string): void {
    this.#subscribed.delete(channel);
  }

  health(): BrokerHealth {
    return { ready: true, connections: { memory: 'ready' } };
  }

  async close(): Promise<void> {
    this.#sink = undefined;
    this.#subscribed.clear();
  }
}
