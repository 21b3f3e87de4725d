import type { Herald } from '../herald.ts';
import { clientChannelRelay } from './client-channel.ts';

/**
 * Seed 000's example socket, generalised: `/ws/{channel}` subscribes to `channel` and publishes
 * every text frame the client sends to it (`/ws/ws_example_channel` is one such channel).
 * All-digit names belong to the per-user route (user-events.ts).
 *
 * The client picks the channel, so both the subscription and each publish pass the channel
 * permission check: `/ws/user:42` is refused (1008) to anyone but user 42 when auth is on, and a
 * message to a channel clients may not publish to gets an error frame.
 */
export function channelSockets(herald: Herald): void {
  herald.socket('/ws/:channel', clientChannelRelay(herald, (socket) => socket.params.channel!));
}
