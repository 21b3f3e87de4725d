import { performance } from 'node:perf_hooks';
import type { Broker, PublishResult } from '../broker/broker.ts';
import { Errors, HeraldError } from '../errors.ts';
import { assertChannelName } from './channel-name.ts';
import type { Namespaces } from './namespace.ts';

export interface PublishExtras {
  /** Accepted once per channel within a few minutes (see IDEMPOTENCY_TTL_SECONDS). */
  idempotencyKey?: string | undefined;
  /** Allows server-internal `#` channels (per-user inboxes). Never set for a client-supplied name. */
  reserved?: boolean;
  /** Publishes a presence event instead of data (never enveloped, never kept in history). */
  event?: 'join' | 'leave';
}

/**
 * What JSON.stringify would escape in a string (quote, backslash, control characters), and the
 * surrogates (it escapes a lone one): a string with none of these is its own JSON text in quotes.
 */
const ESCAPED_IN_JSON = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * JSON.stringify, with a shortcut for the commonest publication, a socket's text frame: a test
 * and two quotes cost half of what JSON.stringify spends on a 100-character string.
 */
function toJson(data: unknown): string | undefined {
  if (typeof data === 'string' && !ESCAPED_IN_JSON.test(data)) return `"${data}"`;
  return JSON.stringify(data);
}

/** Publishes application data: validates, applies the namespace's envelope and history, encodes once. */
export class Publisher {
  readonly #broker: Broker;
  readonly #namespaces: Namespaces;
  /** Publications accepted by the broker, for /metrics. */
  published = 0;
  /** The same by namespace label (Namespaces.metricLabel), for /metrics. */
  readonly publishedByNamespace = new Map<string, number>();
  /** Told how long each accepted publish took, from accepted to confirmed by the broker (seconds). */
  onPublishDuration: ((seconds: number) => void) | undefined;

  constructor(broker: Broker, namespaces: Namespaces) {
    this.#broker = broker;
    this.#namespaces = namespaces;
  }

  async publish(channel: string, data: unknown, from?: string, extras: PublishExtras = {}): Promise<PublishResult> {
    if (!(extras.reserved === true && channel.charCodeAt(0) === 35 /* # */)) assertChannelName(channel);
    // One namespace lookup serves the envelope, the history and the metric label.
    const settings = this.#namespaces.settingsOf(channel);
    const event = extras.event;
    const envelope = event === undefined ? settings.options?.envelope : undefined;
    let json: string | undefined;
    try {
      json = toJson(envelope === undefined ? data : envelope(data));
    } catch (error) {
      // Deeply nested data (from a client's JSON) overflows JSON.stringify's stack: refuse it.
      throw new HeraldError(Errors.BAD_REQUEST, 'Published data cannot be encoded as JSON (nested too deeply?)', { cause: error });
    }
    if (json === undefined) throw new HeraldError(Errors.BAD_REQUEST, 'Published data must be a JSON value');
    const started = performance.now();
    const result = await this.#broker.publish(channel, json, {
      from,
      history: event === undefined ? settings.history : undefined,
      idempotencyKey: extras.idempotencyKey,
      event,
      // A string published as is (a /ws frame's text): raw sockets in this process send it as it came.
      text: envelope === undefined && typeof data === 'string' ? data : undefined,
    });
    this.published++;
    this.onPublishDuration?.((performance.now() - started) / 1000);
    const byNamespace = this.publishedByNamespace;
    byNamespace.set(settings.label, (byNamespace.get(settings.label) ?? 0) + 1);
    return result;
  }
}
