import { installDefaultApp } from '../../src/app/default-app.ts';
import type { Herald } from '../../src/herald.ts';

/**
 * The default app plus what the /connect tests need: namespaces with each history and presence
 * setting, and a TEST-ONLY identity: `?as=<user>` sets `socket.user`. Real identity comes from
 * authentication (issue 4); production code never reads a user id from the query.
 */
export function installProtocolTestApp(herald: Herald): Herald {
  installDefaultApp(herald);
  herald.namespace('stream', { history: { size: 5000, ttlSeconds: 300 } });
  herald.namespace('small', { history: { size: 5, ttlSeconds: 300 } });
  herald.namespace('room', { presence: true });
  herald.namespace('plain', { history: false });
  herald.namespace('locked', { clientPublish: false });
  herald.onSocket((socket) => {
    socket.user = socket.query.get('as') ?? undefined;
  });
  return herald;
}
