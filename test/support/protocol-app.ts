import { installDefaultApp } from '../../src/app/default-app.ts';
import type { HeraldOptions } from '../../src/config.ts';
import type { Herald } from '../../src/herald.ts';
import { hs256Token, TEST_SECRET } from './tokens.ts';

/** Options for a server the /connect tests use: HS256 tokens, anonymous connections allowed. */
export const protocolTestOptions: HeraldOptions = { jwtSecret: TEST_SECRET, allowAnonymous: true };

/** The same, as environment variables for spawnHerald. */
export const protocolTestEnv: Record<string, string> = { HERALD_JWT_SECRET: TEST_SECRET, HERALD_ALLOW_ANONYMOUS: 'true' };

/** The query string that makes a /connect client user `user` (a signed token). */
export async function asUser(user: string): Promise<string> {
  return `?token=${await hs256Token(user)}`;
}

/** The default app plus namespaces with each history, presence and publish setting. */
export function installProtocolTestApp(herald: Herald): Herald {
  installDefaultApp(herald);
  herald.namespace('stream', { history: { size: 5000, ttlSeconds: 300 } });
  herald.namespace('small', { history: { size: 5, ttlSeconds: 300 } });
  herald.namespace('room', { presence: true });
  herald.namespace('plain', { history: false });
  herald.namespace('locked', { publish: false });
  return herald;
}
