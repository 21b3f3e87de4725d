import type { Herald } from '../herald.ts';

/**
 * Seed 000's per-user channel: whatever a socket of user N sends, and whatever a backend publishes
 * to `user:N`, reaches every socket of user N on every process as
 * `{"type": "user_event", "data": ...}`.
 */
export function userEvents(herald: Herald): void {
  herald.namespace('user', { envelope: (data) => ({ type: 'user_event', data }) });
  herald.socket('/ws/:user_id(^\\d+$)', async (socket) => {
    const channel = `user:${socket.params.user_id}`;
    await socket.subscribe(channel);
    socket.onMessage((text) => socket.publish(channel, text));
  });
}
