import { byId } from './dom.ts';

/** What the pill in the top bar shows; `data-state` carries it for styles and tests. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

/** Shows `state` in the page's `#status` pill, with `detail` (a close reason) after it. */
export function showConnectionState(state: ConnectionState, detail?: string): void {
  const pill = byId('status');
  pill.dataset.state = state;
  pill.textContent = detail ? `${LABELS[state]}: ${detail}` : LABELS[state];
}
