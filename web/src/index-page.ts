import { byId } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';

// The index shows whether this browser can reach the server (a client SDK connection), and
// which broker the server runs on. What it says about the server follows the connection: it asks
// /readyz again on every (re)connection, and says the server is out of reach while it is.
const facts = byId('facts');
let broker: string | undefined;

function describeBroker(): string {
  if (broker === undefined) return 'Broker: unknown';
  return `Broker: ${broker === 'redis' ? 'Redis (several processes can share it)' : 'embedded, in memory (one process)'}`;
}

function askReadiness(): void {
  fetch('/readyz')
    .then((response) => response.json() as Promise<{ ok: boolean; broker: string }>)
    .then(({ ok, broker: answered }) => {
      broker = answered;
      if (herald.state === 'connected') facts.textContent = `${describeBroker()}; ${ok ? 'ready' : 'not ready'}.`;
    })
    .catch(() => {
      if (herald.state === 'connected') facts.textContent = 'The server did not answer /readyz.';
    });
}

const herald = connectToServer();
herald.on('connected', askReadiness);
herald.on('disconnected', ({ reconnect }) => {
  facts.textContent = `${describeBroker()}; ${reconnect ? 'out of reach: reconnecting…' : 'disconnected.'}`;
});
