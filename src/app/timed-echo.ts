import type { Herald } from '../herald.ts';

/**
 * Seed 002's echo with a concurrent push: echoes `Message text was: <text>` and sends
 * `It is: <ISO-8601 UTC time>` every `intervalMs`. The timer is per socket and never restarts on a
 * message (the seed's version restarts it, so a chatty client never gets the time).
 */
export function timedEcho(herald: Herald, intervalMs: number): void {
  herald.socket('/echo/timed', (socket) => {
    const timer = setInterval(() => socket.send(`It is: ${new Date().toISOString()}`), intervalMs);
    socket.onClose(() => clearInterval(timer));
    socket.onMessage((text) => socket.send(`Message text was: ${text}`));
  });
}
