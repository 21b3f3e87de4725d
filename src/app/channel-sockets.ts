import type { Herald } from '../herald.ts';

/**
 * Seed 000's example socket, generalised: `/ws/{channel}` subscribes to `channel` and publishes
 * every text frame the client sends to it (`/ws/ws_example_channel` is one such channel).
 * All-digit names belong to the per-user route (user-events.ts).
 */
export function channelSockets(herald: Herald): void {
  herald.socket('/ws/:channel', async (socket) => {
    const channel = socket.params.channel!;
    await socket.subscribe(channel);
    socket.onMessage((text) => socket.publish(channel, text));
  });
}
