import { Errors, HeraldError } from '../errors.ts';

/**
 * How a Pusher channel of an app is a Herald channel, so that both protocols share one channel
 * space (docs/pusher.md, "One channel space"):
 *
 * - `my-channel` of app `42` is Herald channel `pusher:42:my-channel`. The app id in the name keeps
 *   apps apart, and the `pusher` namespace lets Herald's rules apply to all of them at once.
 * - Pusher allows `;` in names and Herald does not; `~` is the reverse (Herald only), so `;` is
 *   written `~` and the mapping stays one to one.
 * - `#server-to-user-<id>`, the channel of a signed-in user, is the reserved Herald channel
 *   `#pusher:42:user:<id>`: `#` names are out of every client's reach on `/connect` and `/ws`.
 */
export type PusherChannelKind = 'public' | 'private' | 'presence' | 'encrypted' | 'user';

/** Pusher's channel alphabet; 164 characters keep the Herald name within its 200. */
const PUSHER_CHANNEL = /^[A-Za-z0-9_\-=@,.;]{1,164}$/;
const USER_CHANNEL_PREFIX = '#server-to-user-';
/** User ids as the Pusher server libraries accept them. */
const USER_ID = /^[A-Za-z0-9_\-=@,.;]{1,200}$/;

export function channelKind(name: string): PusherChannelKind {
  if (name.startsWith(USER_CHANNEL_PREFIX)) return 'user';
  if (name.startsWith('private-encrypted-')) return 'encrypted';
  if (name.startsWith('private-')) return 'private';
  if (name.startsWith('presence-')) return 'presence';
  return 'public';
}

/** Whether `name` is a channel Pusher clients may name (user channels included). */
export function isPusherChannel(name: unknown): name is string {
  if (typeof name !== 'string') return false;
  if (name.startsWith(USER_CHANNEL_PREFIX)) return USER_ID.test(name.slice(USER_CHANNEL_PREFIX.length));
  return PUSHER_CHANNEL.test(name);
}

export function isUserId(id: unknown): id is string {
  return typeof id === 'string' && USER_ID.test(id);
}

/** The Herald channel of Pusher channel `name` of app `appId`; throws BAD_REQUEST for a name Pusher does not allow. */
export function heraldChannel(appId: string, name: string): string {
  if (!isPusherChannel(name)) {
    throw new HeraldError(Errors.BAD_REQUEST, `Invalid channel name ${JSON.stringify(name)}: use 1-164 letters, digits or _ - = @ , . ;`);
  }
  if (name.startsWith(USER_CHANNEL_PREFIX)) return userChannel(appId, name.slice(USER_CHANNEL_PREFIX.length));
  return `pusher:${appId}:${name.replaceAll(';', '~')}`;
}

/** The reserved Herald channel user `userId` of app `appId` receives on (and is terminated through). */
export function userChannel(appId: string, userId: string): string {
  return `#pusher:${appId}:user:${userId}`;
}

/**
 * The Pusher name of a Herald channel of some app (the reverse of heraldChannel), or undefined
 * when the Herald channel is not a Pusher one.
 */
export function pusherName(heraldName: string): string | undefined {
  const reserved = heraldName.startsWith('#');
  const rest = reserved ? heraldName.slice(1) : heraldName;
  if (!rest.startsWith('pusher:')) return undefined;
  const colon = rest.indexOf(':', 7);
  if (colon === -1) return undefined;
  const name = rest.slice(colon + 1);
  if (reserved) return name.startsWith('user:') ? USER_CHANNEL_PREFIX + name.slice(5) : undefined;
  return name.replaceAll('~', ';');
}

/**
 * The app and Pusher name of a Herald channel `pusher:<app>:<name>`, or undefined for any other
 * channel (user channels included: they are not channels an app hears about).
 */
export function pusherChannelOf(heraldName: string): { appId: string; name: string } | undefined {
  if (!heraldName.startsWith('pusher:')) return undefined;
  const colon = heraldName.indexOf(':', 7);
  if (colon === -1) return undefined;
  return { appId: heraldName.slice(7, colon), name: heraldName.slice(colon + 1).replaceAll('~', ';') };
}

/** The Herald-side prefix of every channel of app `appId` (for listings). */
export function appChannelPrefix(appId: string): string {
  return `pusher:${appId}:`;
}
