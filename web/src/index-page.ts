import { byId } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';

// The index shows whether this browser can reach the server (a client SDK connection), and
// which broker the server runs on.
connectToServer();

const facts = byId('facts');
fetch('/readyz')
  .then((response) => response.json() as Promise<{ ok: boolean; broker: string }>)
  .then(({ ok, broker }) => {
    facts.textContent = `Broker: ${broker === 'redis' ? 'Redis (several processes can share it)' : 'embedded, in memory (one process)'}; ${ok ? 'ready' : 'not ready'}.`;
  })
  .catch(() => {
    facts.textContent = 'The server did not answer /readyz.';
  });
