import type { Herald } from '../herald.ts';

/**
 * What the chat page (web/src/chat-page.ts) runs on.
 *
 * - `chat:<room>` channels keep presence, so the page shows who is here and watches them come and
 *   go, and history (the last 200 messages for an hour), so a page entering a room sees the
 *   conversation so far and a page that reconnects gets what it missed.
 * - `inbox:<name>` channels carry private messages to the person of that name, with history (the
 *   last 100 for an hour) so a reconnecting page recovers those too.
 *
 * The default app has no accounts: a chatter's name is what its page says (presence `info`), as
 * with seed 001's `user_code`. With JWT authentication configured, an inbox can only be read by
 * the user it is named after, and written by signed-in users in their own name only: a private
 * message's `from` must be the sender's verified user (the `sender` rule), so the page can show it
 * as who wrote.
 */
export function chatRooms(herald: Herald): void {
  herald.namespace('chat', { presence: true, history: { size: 200, ttlSeconds: 3600 } });
  herald.namespace('inbox', {
    history: { size: 100, ttlSeconds: 3600 },
    subscribe: herald.authenticationConfigured ? 'owner' : 'anyone',
    publish: herald.authenticationConfigured ? 'authenticated' : true,
    ...(herald.authenticationConfigured ? { sender: 'from' } : {}),
  });
}
