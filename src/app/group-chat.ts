import type { Herald } from '../herald.ts';
import { parseJsonObject } from './json-frame.ts';

/** Seed 003's Django Channels group chat: `{"message": m}` goes to every member of group `chat`. */
export function groupChat(herald: Herald): void {
  herald.socket('/ws/chat/', async (socket) => {
    await socket.subscribe('group:chat');
    socket.onMessage((text) => {
      const frame = parseJsonObject(text);
      if (frame === undefined || !('message' in frame)) {
        socket.send({ type: 'error', message: 'Expected {"message": ...}' });
        return;
      }
      return socket.publish('group:chat', { message: frame.message });
    });
  });
}
