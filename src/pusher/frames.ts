import type { Publication } from '../channels/publication.ts';
import { channelKind, pusherName } from './channel-mapping.ts';

/**
 * The Pusher protocol's frames (version 7): `{"event", "channel"?, "data"}`, where `data` is a JSON
 * text inside the JSON (the clients parse it a second time), except in `pusher:error` and
 * `pusher:pong`, whose data is an object.
 */
export interface IncomingFrame {
  event: string;
  channel?: unknown;
  data?: unknown;
}

/** The client's frame, or undefined when it is not a JSON object with a string `event`. */
export function parseFrame(text: string): IncomingFrame | undefined {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof frame !== 'object' || frame === null || typeof (frame as { event?: unknown }).event !== 'string') return undefined;
  return frame as IncomingFrame;
}

export function connectionEstablished(socketId: string, activityTimeoutSeconds: number): string {
  return JSON.stringify({ event: 'pusher:connection_established', data: JSON.stringify({ socket_id: socketId, activity_timeout: activityTimeoutSeconds }) });
}

export function errorFrame(code: number | null, message: string): string {
  return JSON.stringify({ event: 'pusher:error', data: { code, message } });
}

export const PONG = JSON.stringify({ event: 'pusher:pong', data: {} });

export function subscriptionSucceeded(channel: string, data: unknown = {}): string {
  return JSON.stringify({ event: 'pusher_internal:subscription_succeeded', channel, data: JSON.stringify(data) });
}

/** A refused subscription, on its channel, as pusher-js reports it to the app (`status` as an auth endpoint's). */
export function subscriptionError(channel: string, status: number, error: string): string {
  return JSON.stringify({ event: 'pusher:subscription_error', channel, data: JSON.stringify({ type: 'AuthError', error, status }) });
}

export function signinSuccess(userData: string): string {
  return JSON.stringify({ event: 'pusher:signin_success', data: JSON.stringify({ user_data: userData }) });
}

/** The members of a presence channel as `pusher_internal:subscription_succeeded` carries them. */
export function presenceData(members: Map<string, unknown>): { presence: { ids: string[]; hash: Record<string, unknown>; count: number } } {
  return { presence: { ids: [...members.keys()], hash: Object.fromEntries(members), count: members.size } };
}

/**
 * What Herald publications carry when they come from Pusher (the HTTP API, client events): the
 * event's name, its data as the Pusher side sent it (a string, most often JSON text), and for
 * client events on presence channels the sender's user id.
 */
export interface PusherEventData {
  event: string;
  data: unknown;
  user_id?: string;
}

/**
 * The frame Pusher subscribers get for `publication`, or undefined when there is none for them (a
 * presence event on a channel that is not a presence channel, or one without a user). Encoded once
 * per publication per process and shared by every Pusher subscriber (Publication.frame).
 */
export function publicationFrame(publication: Publication): Buffer | undefined {
  const channel = pusherName(publication.channel);
  if (channel === undefined) return undefined;
  if (publication.event !== undefined) {
    if (channelKind(channel) !== 'presence') return undefined;
    const entry = publication.data as { user?: unknown; info?: unknown };
    if (typeof entry?.user !== 'string') return undefined;
    return publication.frame(`pusher-${publication.event}`, () => memberFrame(channel, publication.event!, entry.user as string, entry.info));
  }
  return publication.frame('pusher', () => eventFrame(channel, publication));
}

function memberFrame(channel: string, event: 'join' | 'leave', user: string, info: unknown): string {
  if (event === 'leave') return JSON.stringify({ event: 'pusher_internal:member_removed', channel, data: JSON.stringify({ user_id: user }) });
  return JSON.stringify({ event: 'pusher_internal:member_added', channel, data: JSON.stringify(info === undefined ? { user_id: user } : { user_id: user, user_info: info }) });
}

/**
 * A publication in the Pusher envelope ({@link PusherEventData}) is that event; any other data
 * (published by Herald clients or server code) arrives as event {@link HERALD_EVENT}, its data the
 * published text (a string as itself, anything else as its JSON).
 */
function eventFrame(channel: string, publication: Publication): string {
  const data = publication.data;
  if (isPusherEventData(data)) {
    const frame: Record<string, unknown> = { event: data.event, channel, data: typeof data.data === 'string' ? data.data : JSON.stringify(data.data) };
    if (typeof data.user_id === 'string') frame.user_id = data.user_id;
    return JSON.stringify(frame);
  }
  return JSON.stringify({ event: HERALD_EVENT, channel, data: typeof data === 'string' ? data : publication.json });
}

/** The event name of publications made through Herald's own API on a Pusher channel. */
export const HERALD_EVENT = 'herald:publication';

export function isPusherEventData(data: unknown): data is PusherEventData {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && typeof (data as { event?: unknown }).event === 'string' && 'data' in data;
}
