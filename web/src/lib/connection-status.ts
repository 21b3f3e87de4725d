import { byId } from './dom.ts';

/** What the pill in the top bar shows; `data-state` carries it for styles and tests. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

/**
 * Shows `state` in the page's `#status` pill, with `detail` (a close reason) after it. A page that
 * connects only on demand (the chat, once a name is chosen) keeps its pill hidden until then, so it
 * never claims a connection is being made when none is.
 */
export function showConnectionState(state: ConnectionState, detail?: string): void {
  const pill = byId('status');
  pill.hidden = false;
  pill.dataset.state = state;
  pill.textContent = detail ? `${LABELS[state]}: ${detail}` : LABELS[state];
}
