import type { Herald } from '../herald.ts';
import type { Connection } from '../transport/connection.ts';

/**
 * Binds a socket to a channel its client named (in the path): subscribes it and publishes every
 * text frame it sends, each step under the client's channel permissions. A refused subscription
 * closes the socket (1008); a refused publish gets an error frame and the socket stays.
 */
export async function relayClientChannel(herald: Herald, socket: Connection, channel: string): Promise<void> {
  const refusal = herald.permissions.authorizeSubscribe(socket, channel);
  if (refusal !== undefined) throw refusal;
  await socket.subscribe(channel);
  socket.onMessage((text) => {
    const denied = herald.permissions.authorizePublish(socket, channel, text);
    if (denied !== undefined) throw denied;
    return socket.publish(channel, text);
  });
}
