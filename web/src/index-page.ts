import { showConnectionState } from './lib/connection-status.ts';
import { byId } from './lib/dom.ts';
import { RawSocket } from './lib/raw-socket.ts';

// The index shows whether this browser can reach the server, and which broker it runs on.
new RawSocket('/echo', { onMessage: () => {}, onState: showConnectionState });

const facts = byId('facts');
fetch('/readyz')
  .then((response) => response.json() as Promise<{ ok: boolean; broker: string }>)
  .then(({ ok, broker }) => {
    facts.textContent = `Broker: ${broker === 'redis' ? 'Redis (several processes can share it)' : 'embedded, in memory (one process)'}; ${ok ? 'ready' : 'not ready'}.`;
  })
  .catch(() => {
    facts.textContent = 'The server did not answer /readyz.';
  });
