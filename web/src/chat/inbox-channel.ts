/**
 * The channel of a chatter's private messages, `inbox:<name>`. Names may use any letters (`李雷`),
 * but channel names are limited to ASCII letters, digits and `_ - . : @ = + , ~ /`, so the name
 * is written into the channel with each character outside `A-Z a-z 0-9 _ . -` as the `=XX` hex
 * codes of its UTF-8 bytes: `inbox:=E6=9D=8E=E9=9B=B7`. Names of those ASCII characters alone
 * stay as they are (`inbox:ada`), and since `=` itself is always encoded, no two names share an
 * inbox.
 */
export function inboxChannel(name: string): string {
  return `inbox:${encodeNameForChannel(name)}`;
}

const KEPT = /[A-Za-z0-9_.-]/;

export function encodeNameForChannel(name: string): string {
  let encoded = '';
  for (const character of name) {
    if (KEPT.test(character)) encoded += character;
    else for (const byte of new TextEncoder().encode(character)) encoded += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
