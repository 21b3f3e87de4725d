import type { Broker, PublishResult } from '../broker/broker.ts';
import { Errors, HeraldError } from '../errors.ts';
import { assertChannelName } from './channel-name.ts';
import type { Namespaces } from './namespace.ts';

/** Publishes application data: validates, applies the namespace's envelope, encodes once. */
export class Publisher {
  readonly #broker: Broker;
  readonly #namespaces: Namespaces;
  /** Publications accepted by the broker, for /metrics. */
  published = 0;

  constructor(broker: Broker, namespaces: Namespaces) {
    this.#broker = broker;
    this.#namespaces = namespaces;
  }

  async publish(channel: string, data: unknown, from?: string): Promise<PublishResult> {
    assertChannelName(channel);
    const envelope = this.#namespaces.forChannel(channel)?.envelope;
    const json = JSON.stringify(envelope === undefined ? data : envelope(data));
    if (json === undefined) throw new HeraldError(Errors.BAD_REQUEST, 'Published data must be a JSON value');
    const result = await this.#broker.publish(channel, json, { from });
    this.published++;
    return result;
  }
}
