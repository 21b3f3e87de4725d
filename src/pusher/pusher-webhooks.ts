import { createHmac } from 'node:crypto';
import type { WebhookEvent, WebhookTarget } from '../webhooks/webhook-target.ts';
import type { Webhooks } from '../webhooks/webhooks.ts';
import type { PusherAppConfig } from './pusher-apps.ts';
import type { PusherEvent } from './pusher-events.ts';

/** The events the Pusher protocol reports by webhook, by their Pusher names. */
export const PUSHER_WEBHOOK_EVENTS = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'] as const;
export type PusherWebhookEventName = (typeof PUSHER_WEBHOOK_EVENTS)[number];

/** One webhook URL of an app (`pusherApps[].webhooks`), with the events it wants (all when omitted). */
export interface PusherWebhookConfig {
  url: string;
  events?: PusherWebhookEventName[];
}

/**
 * Herald's event type for a Pusher event: Pusher events travel through Herald's webhooks as
 * `pusher.<name>` with data `{"app", "channel", …}` (the Pusher fields, snake_case), so a
 * `HERALD_WEBHOOKS` endpoint may also take them, and each app's endpoints pick out their own.
 */
export function pusherEventType(name: PusherWebhookEventName): string {
  return `pusher.${name}`;
}

/** The data of an event as Herald's webhooks carry it: the Pusher event's fields, and the app. */
export function pusherEventData(event: PusherEvent): Record<string, unknown> {
  const base = { app: event.appId, channel: event.channel };
  switch (event.name) {
    case 'channel_occupied':
    case 'channel_vacated':
      return base;
    case 'member_added':
    case 'member_removed':
      return { ...base, user_id: event.userId };
    case 'client_event':
      // Pusher sends the data as the text the other subscribers got, not as parsed JSON.
      return {
        ...base,
        event: event.event,
        data: typeof event.data === 'string' ? event.data : JSON.stringify(event.data),
        socket_id: event.socketId,
        ...(event.userId === undefined ? {} : { user_id: event.userId }),
      };
  }
}

/**
 * One webhook URL of a Pusher app, as a target of Herald's webhook delivery: it receives the
 * app's events of the types it lists, each as Pusher sends it: a POST of
 * `{"time_ms", "events": [{"name", "channel", …}]}` (one event per request, as Pusher does without
 * batching) with `X-Pusher-Key` (the app's key) and `X-Pusher-Signature` (HMAC-SHA256 of the body
 * with the app's secret, hex). `time_ms` is when the event happened, so every retry sends the
 * same body; `Herald-Event-Id`, also the same on every retry, lets the receiver drop repeats.
 */
export function pusherWebhookTarget(app: Pick<PusherAppConfig, 'id' | 'key' | 'secret'>, webhook: PusherWebhookConfig): WebhookTarget {
  const types = new Set<string>((webhook.events ?? PUSHER_WEBHOOK_EVENTS).map(pusherEventType));
  return {
    id: `pusher:${app.id}:${webhook.url}`,
    url: webhook.url,
    wants: (type) => types.has(type),
    receives: (event) => types.has(event.type) && (event.data as { app?: unknown } | null)?.app === app.id,
    request: (event: WebhookEvent) => {
      const { app: _app, ...fields } = event.data as Record<string, unknown>;
      const body = JSON.stringify({ time_ms: event.time, events: [{ name: event.type.slice('pusher.'.length), ...fields }] });
      return {
        body,
        headers: { 'x-pusher-key': app.key, 'x-pusher-signature': createHmac('sha256', app.secret).update(body).digest('hex'), 'herald-event-id': event.id },
      };
    },
  };
}

/** The webhook targets of every configured app. */
export function pusherWebhookTargets(apps: readonly PusherAppConfig[]): WebhookTarget[] {
  return apps.flatMap((app) => (app.webhooks ?? []).map((webhook) => pusherWebhookTarget(app, webhook)));
}

/** Sends each Pusher event to the endpoints that want it (its app's, and Herald's that list it). */
export class PusherWebhooks {
  readonly #webhooks: Webhooks;

  constructor(webhooks: Webhooks) {
    this.#webhooks = webhooks;
  }

  /** Whether channel_occupied or channel_vacated is wanted: only then is occupancy followed. */
  get wantsOccupancy(): boolean {
    return this.#webhooks.wants(pusherEventType('channel_occupied')) || this.#webhooks.wants(pusherEventType('channel_vacated'));
  }

  readonly send = (event: PusherEvent): void => {
    const type = pusherEventType(event.name);
    if (this.#webhooks.wants(type)) this.#webhooks.emitLogged(type, pusherEventData(event));
  };
}
