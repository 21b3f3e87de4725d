import { createHash, timingSafeEqual } from 'node:crypto';
import { cookie } from '../auth/token-source.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';

/**
 * Seed 002's secured echo: `/echo/secure?username=X` with a `token` cookie equal to the demo token
 * (`HERALD_DEMO_TOKEN`) greets `Hello, X!` and echoes `Message text was: <text>`. A missing or wrong
 * token, or no demo token configured, closes with 1008 and says which.
 *
 * It is a demo of a route with its own credential check, so JWT authentication does not apply to it.
 */
export function secureEcho(herald: Herald): void {
  const expected = herald.options.demoToken === undefined ? undefined : sha256(herald.options.demoToken);
  herald.socket(
    '/echo/secure',
    (socket) => {
      if (expected === undefined) throw new HeraldError(Errors.UNAUTHORIZED, 'Secured echo is off: the server has no HERALD_DEMO_TOKEN');
      const token = cookie(socket.headers.cookie, 'token');
      if (token === undefined) throw new HeraldError(Errors.UNAUTHORIZED, 'Missing token cookie');
      // Digests compare in constant time whatever the guess's length.
      if (!timingSafeEqual(sha256(token), expected)) throw new HeraldError(Errors.UNAUTHORIZED, 'Wrong token');
      const username = socket.query.get('username');
      if (!username) throw new HeraldError(Errors.MISSING_PARAMETER, 'username is required');
      socket.send(`Hello, ${username}!`);
      socket.onMessage((text) => socket.send(`Message text was: ${text}`));
    },
    { authentication: 'none' },
  );
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
