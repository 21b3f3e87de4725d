import type { WebhookEndpoint } from './endpoints.ts';
import { receives } from './endpoints.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signer.ts';

/** What an endpoint receives: `{"id", "type", "time", "data"}`. */
export interface WebhookEvent {
  /** Unique per event (the same on every retry): receivers deduplicate by it. */
  id: string;
  type: string;
  /** When it happened, ms since the epoch. */
  time: number;
  data: unknown;
}

/** One request for one event: the exact body, and the headers that describe and sign it. */
export interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/**
 * Somewhere events are delivered, in the wire format its receiver expects: Herald's own
 * (`HERALD_WEBHOOKS`) or another protocol's (a Pusher app's webhooks). Delivery, retries and dead
 * letters are the same for all of them (webhooks.ts); only the choice of events and the request
 * differ.
 */
export interface WebhookTarget {
  /**
   * Names the target in its queued delivery tasks, so that a task run by another process (or
   * after a restart) finds it again: the URL for Herald's endpoints, as before targets had ids.
   */
  readonly id: string;
  readonly url: string;
  /** Whether it may receive events of `type`: false lets callers skip work nobody wants. */
  wants(type: string): boolean;
  /** Whether it receives this event (a subset of `wants`: a target may also choose by the data). */
  receives(event: WebhookEvent): boolean;
  /** The request that carries `event`; the same body on every attempt. */
  request(event: WebhookEvent, now: number): WebhookRequest;
}

/** An endpoint of `HERALD_WEBHOOKS`: the event as JSON, signed with `Herald-Signature` (docs/users.md). */
export function heraldTarget(endpoint: WebhookEndpoint): WebhookTarget {
  return {
    id: endpoint.url,
    url: endpoint.url,
    wants: (type) => receives(endpoint, type),
    receives: (event) => receives(endpoint, event.type),
    request: (event, now) => {
      const body = JSON.stringify(event);
      return {
        body,
        headers: { 'herald-event-id': event.id, 'herald-event-type': event.type, [SIGNATURE_HEADER]: signatureHeader(endpoint.secret, now, body) },
      };
    },
  };
}
