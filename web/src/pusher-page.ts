import PusherModule, { type Members, type PresenceChannel } from 'pusher-js';
import { showConnectionState, type ConnectionState } from './lib/connection-status.ts';
import { byId } from './lib/dom.ts';
import { appendMessage } from './lib/message-list.ts';

// The Pusher protocol demo: pusher-js as any Pusher app configures it, with this server as host
// and the demo app's key; /pusher/auth signs the presence subscription for the chosen name.
const KEY = 'herald-demo';
// pusher-js ships CommonJS, whose default export its types describe as `.default`.
const Pusher = PusherModule as unknown as typeof PusherModule.default;
const CHANNEL = 'presence-lobby';

const joinForm = byId<HTMLFormElement>('join');
const nameInput = byId<HTMLInputElement>('name');
const membersLine = byId('members');
const messages = byId<HTMLOListElement>('messages');
const composer = byId<HTMLFormElement>('composer');
const textInput = byId<HTMLInputElement>('text');

const STATES: Record<string, ConnectionState> = { connecting: 'connecting', connected: 'connected', unavailable: 'reconnecting', failed: 'closed', disconnected: 'closed' };

function showMembers(members: Members): void {
  const names: string[] = [];
  members.each((member: { info: { name: string } }) => names.push(member.info.name));
  membersLine.textContent = `Here (${names.length}): ${names.sort().join(', ')}`;
  membersLine.dataset.count = String(names.length);
}

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (name === '') return;
  joinForm.hidden = true;
  const secure = location.protocol === 'https:';
  const pusher = new Pusher(KEY, {
    cluster: 'herald',
    wsHost: location.hostname,
    wsPort: Number(location.port || 80),
    wssPort: Number(location.port || 443),
    forceTLS: secure,
    enabledTransports: secure ? ['wss'] : ['ws'],
    disableStats: true,
    channelAuthorization: { endpoint: `/pusher/auth?user=${encodeURIComponent(name)}`, transport: 'ajax' },
  });
  pusher.connection.bind('state_change', ({ current }: { current: string }) => showConnectionState(STATES[current] ?? 'connecting'));
  const channel = pusher.subscribe(CHANNEL) as PresenceChannel;
  channel.bind('pusher:subscription_succeeded', (members: Members) => {
    showMembers(members);
    composer.hidden = false;
    textInput.focus();
  });
  channel.bind('pusher:subscription_error', (error: { error: string }) => appendMessage(messages, { kind: 'notice', text: `Could not join: ${error.error}` }));
  channel.bind('pusher:member_added', (member: { info: { name: string } }) => {
    showMembers(channel.members);
    appendMessage(messages, { kind: 'notice', text: `${member.info.name} joined` });
  });
  channel.bind('pusher:member_removed', (member: { info: { name: string } }) => {
    showMembers(channel.members);
    appendMessage(messages, { kind: 'notice', text: `${member.info.name} left` });
  });
  channel.bind('client-message', (data: { text: string }, meta: { user_id?: string }) => {
    appendMessage(messages, { kind: 'theirs', who: meta.user_id ?? '?', text: data.text });
  });
  composer.addEventListener('submit', (submitted) => {
    submitted.preventDefault();
    const text = textInput.value;
    if (text === '' || !channel.trigger('client-message', { text })) return;
    appendMessage(messages, { kind: 'mine', who: 'You', text });
    textInput.value = '';
    textInput.focus();
  });
});
