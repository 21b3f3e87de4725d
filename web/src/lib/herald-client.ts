import { Herald, type HeraldClientOptions } from '../../../client/index.ts';
import { showConnectionState } from './connection-status.ts';

/**
 * A client SDK connection to this page's server (`/connect`), its state shown in the top bar:
 * "Reconnecting…" whenever it has been connected before and is trying again, "Disconnected" with
 * the server's reason when the server said not to come back (e.g. a refused name).
 */
export function connectToServer(options: HeraldClientOptions = {}): Herald {
  const url = new URL('/connect', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const herald = new Herald(url.toString(), options);
  let everConnected = false;
  herald.on('connecting', () => showConnectionState(everConnected ? 'reconnecting' : 'connecting'));
  herald.on('connected', () => {
    everConnected = true;
    showConnectionState('connected');
  });
  herald.on('disconnected', ({ code, reason, reconnect }) => {
    if (reconnect) showConnectionState('reconnecting');
    else showConnectionState('closed', reason || `code ${code}`);
  });
  return herald.connect();
}
