import type { Herald } from '../herald.ts';

/** Seed 002's echo socket. */
export function echo(herald: Herald): void {
  herald.socket('/echo', (socket) => {
    socket.onMessage((text) => socket.send(`Message text was: ${text}`));
  });
}
