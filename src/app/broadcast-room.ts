import type { Herald } from '../herald.ts';

/** Seed 003's connection manager: "Client #N says: ..." to everyone, "Client #N disconnected" on leave. */
export function broadcastRoom(herald: Herald): void {
  herald.socket('/broadcast/:client_id', async (socket) => {
    const id = socket.params.client_id!;
    await socket.subscribe('broadcast');
    socket.onMessage((text) => socket.publish('broadcast', `Client #${id} says: ${text}`));
    socket.onClose(() => {
      herald.publish('broadcast', `Client #${id} disconnected`).catch((error: unknown) => {
        herald.log.warn({ err: error }, 'could not announce a disconnect');
      });
    });
  });
}
