import { NodeChart } from './admin-charts.ts';
import { byId, el } from './lib/dom.ts';

// The admin page: asks once for the API key or an admin token (a JWT), keeps it in this tab's sessionStorage and sends it
// as "Authorization: Bearer" on every API call (no cookie, so other sites cannot ride on it).
const KEY = 'herald-admin-key';
const POLL_MS = 2000;

const keyForm = byId<HTMLFormElement>('key-form');
const keyInput = byId<HTMLInputElement>('key');
const consoleSection = byId('console');
const status = byId('status');
const nodesBody = byId<HTMLTableElement>('nodes').tBodies[0]!;
const nodesNote = byId('nodes-note');
const publishForm = byId<HTMLFormElement>('publish-form');
const publishResult = byId('publish-result');

interface NodeInfo {
  id: string;
  host: string;
  port: number;
  broker: string;
  connections: number;
  channels: number;
  deliveriesPerSecond: number;
  publicationsPerSecond: number;
}

let pollTimer: ReturnType<typeof setTimeout> | undefined;
const connectionsChart = new NodeChart(byId('chart-connections'), 'Connections');
const deliveriesChart = new NodeChart(byId('chart-deliveries'), 'Deliveries per second');

function showStatus(state: 'connected' | 'connecting' | 'closed', text: string): void {
  status.dataset['state'] = state;
  status.textContent = text;
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const key = sessionStorage.getItem(KEY) ?? '';
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) signOut('The key was refused');
  else if (response.status === 403) signOut('That token is not an admin token');
  return response;
}

function signOut(reason: string): void {
  sessionStorage.removeItem(KEY);
  clearTimeout(pollTimer);
  consoleSection.hidden = true;
  keyForm.hidden = false;
  showStatus('closed', reason);
}

function rate(value: number): string {
  return value.toFixed(1);
}

async function poll(): Promise<void> {
  try {
    const response = await api('/api/nodes');
    if (response.status === 401 || response.status === 403) return; // signed out by api()
    if (!response.ok) {
      showStatus('connecting', `Nodes unavailable (${response.status})`);
    } else {
      const body = (await response.json()) as { self: string; nodes: NodeInfo[] };
      nodesBody.replaceChildren(
        ...body.nodes.map((node) =>
          el('tr', { 'data-node': node.id },
            el('td', {}, node.id === body.self ? `${node.id} (this one)` : node.id),
            el('td', { class: 'address' }, `${node.host}:${node.port}`),
            el('td', {}, node.broker),
            el('td', { class: 'connections' }, String(node.connections)),
            el('td', {}, String(node.channels)),
            el('td', {}, rate(node.deliveriesPerSecond)),
            el('td', {}, rate(node.publicationsPerSecond)),
          ),
        ),
      );
      const now = Date.now();
      const label = (node: NodeInfo) => `${node.host}:${node.port}`;
      connectionsChart.add(now, new Map(body.nodes.map((node) => [label(node), node.connections])));
      deliveriesChart.add(now, new Map(body.nodes.map((node) => [label(node), node.deliveriesPerSecond])));
      nodesNote.textContent = `${body.nodes.length} ${body.nodes.length === 1 ? 'node' : 'nodes'}, updated ${new Date().toLocaleTimeString()}`;
      showStatus('connected', 'Signed in');
    }
  } catch {
    showStatus('connecting', 'Server unreachable');
  }
  if (sessionStorage.getItem(KEY) !== null) pollTimer = setTimeout(() => void poll(), POLL_MS);
}

function start(): void {
  keyForm.hidden = true;
  consoleSection.hidden = false;
  showStatus('connecting', 'Loading…');
  void poll();
}

keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, keyInput.value);
  keyInput.value = '';
  start();
});

publishForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const channel = byId<HTMLInputElement>('publish-channel').value;
  const text = byId<HTMLInputElement>('publish-data').value;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = text;
  }
  publishResult.textContent = 'Publishing…';
  void api('/api/publish', { method: 'POST', body: JSON.stringify({ channel, data }) }).then(
    async (response) => {
      const body = (await response.json()) as { ok: boolean; error?: { message: string } };
      publishResult.textContent = body.ok ? `Published to ${channel}` : `Not published: ${body.error?.message ?? response.status}`;
    },
    () => {
      publishResult.textContent = 'Not published: the server is unreachable';
    },
  );
});

const disconnectForm = byId<HTMLFormElement>('disconnect-form');
const disconnectResult = byId('disconnect-result');
disconnectForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = byId<HTMLInputElement>('disconnect-user').value;
  disconnectResult.textContent = 'Disconnecting…';
  void api('/api/admin/disconnect', { method: 'POST', body: JSON.stringify({ user }) }).then(
    async (response) => {
      const body = (await response.json()) as { ok: boolean; error?: { message: string } };
      disconnectResult.textContent = body.ok ? `Every process was told to disconnect ${user}` : `Not done: ${body.error?.message ?? response.status}`;
    },
    () => {
      disconnectResult.textContent = 'Not done: the server is unreachable';
    },
  );
});

interface ChannelSummary {
  channel: string;
  processes: number;
  subscribers: number;
  localSubscribers: number;
}

const channelsTable = byId<HTMLTableElement>('channels');
const searchResult = byId('search-result');
const detail = byId('channel-detail');

async function showChannel(channel: string): Promise<void> {
  const response = await api(`/api/admin/channels/${encodeURIComponent(channel)}`);
  if (!response.ok) return;
  const body = (await response.json()) as { presence: { connection: string; user: string | null }[]; publications: { offset: number; data: unknown }[] };
  byId('detail-name').textContent = channel;
  byId('detail-presence').textContent = body.presence.length === 0 ? 'nobody' : body.presence.map((entry) => entry.user ?? `anonymous (${entry.connection})`).join(', ');
  byId('detail-publications').replaceChildren(
    ...(body.publications.length === 0
      ? [el('li', {}, 'No publications kept')]
      : body.publications.map((publication) => el('li', {}, `#${publication.offset} ${JSON.stringify(publication.data)}`))),
  );
  detail.hidden = false;
}

byId<HTMLFormElement>('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const prefix = byId<HTMLInputElement>('search-prefix').value;
  searchResult.textContent = 'Searching…';
  void api(`/api/admin/channels?prefix=${encodeURIComponent(prefix)}`).then(
    async (response) => {
      const body = (await response.json()) as { channels?: ChannelSummary[]; nodes?: { answered: number; expected: number }; error?: { message: string } };
      if (body.channels === undefined) {
        searchResult.textContent = `Search failed: ${body.error?.message ?? response.status}`;
        return;
      }
      channelsTable.tBodies[0]!.replaceChildren(
        ...body.channels.map((summary) => {
          const open = el('button', { type: 'button', class: 'secondary', 'data-channel': summary.channel }, summary.channel);
          open.addEventListener('click', () => void showChannel(summary.channel));
          return el('tr', {}, el('td', {}, open), el('td', {}, String(summary.processes)), el('td', {}, String(summary.subscribers)), el('td', {}, String(summary.localSubscribers)));
        }),
      );
      channelsTable.hidden = body.channels.length === 0;
      const short = body.nodes !== undefined && body.nodes.answered < body.nodes.expected ? ` (counts from ${body.nodes.answered} of ${body.nodes.expected} processes)` : '';
      searchResult.textContent = `${body.channels.length} ${body.channels.length === 1 ? 'channel' : 'channels'} with subscribers${short}`;
    },
    () => {
      searchResult.textContent = 'Search failed: the server is unreachable';
    },
  );
});

if (sessionStorage.getItem(KEY) !== null) start();
