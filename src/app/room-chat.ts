import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';

/**
 * Seed 002's broadcast chat: `/chat?username=X` sends `{"username", "message"}` to every other
 * chatter on every process; the sender does not get its own message back.
 */
export function roomChat(herald: Herald): void {
  herald.socket('/chat', async (socket) => {
    const username = socket.query.get('username');
    if (!username) throw new HeraldError(Errors.MISSING_PARAMETER, 'username is required');
    await socket.subscribe('room:lobby', { echo: false });
    socket.onMessage((message) => socket.publish('room:lobby', { username, message }));
  });
}
