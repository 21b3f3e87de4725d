import { ConfigError } from '../config.ts';

/** The events Herald itself emits (docs/users.md has each one's JSON). */
export const WEBHOOK_EVENT_TYPES = ['user.online', 'user.offline', 'channel.occupied', 'channel.vacated', 'message.stored', 'task.completed', 'task.failed'] as const;

/** Where webhooks go: a URL, the secret their signature is made with, and the event types it wants. */
export interface WebhookEndpoint {
  url: string;
  /** Signs every request (Herald-Signature); at least 16 characters. */
  secret: string;
  /** Event types it receives (`"*"`: all, including those of other protocols on this server). */
  events: string[];
}

const EVENT_TYPE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/;

/** Validates endpoints read from configuration (HERALD_WEBHOOKS), naming the faulty field. */
export function checkWebhookEndpoints(endpoints: unknown): asserts endpoints is WebhookEndpoint[] {
  if (!Array.isArray(endpoints)) throw new ConfigError('webhooks must be an array of {"url", "secret", "events"}');
  endpoints.forEach((endpoint: unknown, index) => {
    const where = `webhooks[${index}]`;
    if (typeof endpoint !== 'object' || endpoint === null || Array.isArray(endpoint)) throw new ConfigError(`${where} must be an object with "url", "secret" and "events"`);
    const { url, secret, events, ...rest } = endpoint as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new ConfigError(`${where}.${extra[0]} is not a webhook option (url, secret, events)`);
    if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError(`${where}.url must be an http(s) URL`);
    if (typeof secret !== 'string' || secret.length < 16) throw new ConfigError(`${where}.secret must be a string of at least 16 characters`);
    if (!Array.isArray(events) || events.length === 0) throw new ConfigError(`${where}.events must be a non-empty array of event types, e.g. ["user.offline"] or ["*"]`);
    for (const type of events) {
      if (type === '*' || (typeof type === 'string' && EVENT_TYPE.test(type))) continue;
      throw new ConfigError(`${where}.events: ${JSON.stringify(type)} is not an event type (${WEBHOOK_EVENT_TYPES.join(', ')}, or "*")`);
    }
  });
}

/** Whether `endpoint` receives events of `type`. */
export function receives(endpoint: WebhookEndpoint, type: string): boolean {
  return endpoint.events.includes('*') || endpoint.events.includes(type);
}
