import { Errors, HeraldError, PusherCloseCode } from '../errors.ts';
import { channelKind } from './channel-mapping.ts';
import type { PusherApp } from './pusher-apps.ts';

/**
 * The rules of client events (`client-*` frames a socket sends to the other subscribers of a
 * channel): only when the app allows them, only on private and presence channels the socket is
 * subscribed to, at most the app's `clientEventsPerSecond` per socket. A refusal is a
 * `pusher:error` to the sender; the socket stays open.
 */
export class ClientEventRate {
  #windowStart = 0;
  #count = 0;

  /** Whether one more event fits in the current one-second window. */
  admit(limit: number, now = Date.now()): boolean {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    return ++this.#count <= limit;
  }
}

export interface ClientEventRefusal {
  code: number | null;
  message: string;
}

/** Why a client event may not be sent, or undefined when it may. */
export function clientEventRefusal(app: PusherApp, event: string, channel: unknown, subscribed: boolean, dataBytes: number): ClientEventRefusal | undefined {
  if (!app.clientEvents) return { code: null, message: 'Client events are not enabled for this app' };
  if (typeof channel !== 'string' || !subscribed) return { code: null, message: `Not subscribed to channel ${JSON.stringify(channel)}` };
  const kind = channelKind(channel);
  if (kind !== 'private' && kind !== 'presence') return { code: null, message: 'Client events are only allowed on private and presence channels' };
  if (event.length > 200) return { code: null, message: 'Event names are at most 200 characters' };
  if (dataBytes > app.limits.maxEventBytes) return { code: null, message: `Event data is over ${app.limits.maxEventBytes} bytes` };
  return undefined;
}

export const RATE_LIMITED: ClientEventRefusal = { code: PusherCloseCode.CLIENT_EVENT_RATE_LIMITED, message: 'Client event rejected due to rate limit' };

/** The size check of event data shared with the HTTP API. */
export function checkEventSize(app: PusherApp, data: string): void {
  if (Buffer.byteLength(data) > app.limits.maxEventBytes) {
    throw new HeraldError(Errors.PUSHER_PAYLOAD_TOO_LARGE, `Event data is over ${app.limits.maxEventBytes} bytes`);
  }
}
