import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';

/** A user id as the /connect protocol accepts it (the `send` op's `user`). */
const USER_NAME = /^[A-Za-z0-9_\-.@=+,~]{1,100}$/;

/**
 * What the chat page (web/src/chat-page.ts) runs on: `chat:<room>` channels keep presence, so the
 * page can show who is here and watch them come and go, and history (the last 200 messages for an
 * hour), so a page entering a room sees the conversation so far and a page that reconnects gets
 * what it missed.
 *
 * It also names the chatters. The default app is a demo without accounts: while no
 * authentication has set a socket's user, `?user=<name>` on the socket's URL sets it, so anyone
 * may claim any name, as with seed 001's `user_code`. Applications with real users set
 * `socket.user` from a verified token instead.
 */
export function chatRooms(herald: Herald): void {
  herald.namespace('chat', { presence: true, history: { size: 200, ttlSeconds: 3600 } });
  herald.onSocket((socket) => {
    const name = socket.query.get('user');
    if (name === null || socket.user !== undefined) return;
    if (!USER_NAME.test(name)) throw new HeraldError(Errors.BAD_REQUEST, 'user must be 1-100 letters, digits or _ - . @ = + , ~');
    socket.user = name;
  });
}
