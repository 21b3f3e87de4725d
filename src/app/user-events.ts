import type { Herald } from '../herald.ts';
import { clientChannelRelay } from './client-channel.ts';

/**
 * Seed 000's per-user channel: whatever a socket of user N sends, and whatever a backend publishes
 * to `user:N`, reaches every socket of user N on every process as
 * `{"type": "user_event", "data": ...}`.
 *
 * With authentication configured, `user:N` belongs to user N alone (subscribe, publish, history and
 * presence), so `/ws/N` lets in only a token whose `sub` is N. Without it, the demo stays open as
 * the seed has it: anyone may connect as any user (README, "Security").
 */
export function userEvents(herald: Herald): void {
  herald.namespace('user', {
    envelope: (data) => ({ type: 'user_event', data }),
    subscribe: herald.authenticationConfigured ? 'owner' : 'anyone',
  });
  herald.socket('/ws/:user_id(^\\d+$)', clientChannelRelay(herald, (socket) => `user:${socket.params.user_id}`));
}
