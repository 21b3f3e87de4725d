import { Errors, HeraldError } from '../errors.ts';

/**
 * Channel names: 1 to 200 characters from letters, digits and `_ - . : @ = + , ~ /`.
 * The part before the first `:` is the namespace (`user:42` is in `user`); a name without `:` is
 * in the default namespace.
 */
const CHANNEL_NAME = /^[A-Za-z0-9_\-.:@=+,~/]{1,200}$/;

export function isValidChannelName(name: unknown): name is string {
  return typeof name === 'string' && CHANNEL_NAME.test(name);
}

export function assertChannelName(name: unknown): asserts name is string {
  if (!isValidChannelName(name)) {
    throw new HeraldError(
      Errors.BAD_REQUEST,
      `Invalid channel name ${JSON.stringify(name)}: use 1-200 letters, digits or _ - . : @ = + , ~ /`,
    );
  }
}

export function namespaceOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon === -1 ? '' : channel.slice(0, colon);
}

/**
 * The channel a user's private messages travel on. `#` is outside the client channel alphabet, so
 * no client-supplied name (a `/ws/:channel` path, a `subscribe` op) can ever reach it.
 */
export function userChannel(user: string): string {
  return `#user:${user}`;
}
