import { showConnectionState } from './lib/connection-status.ts';
import { byId } from './lib/dom.ts';
import { appendMessage } from './lib/message-list.ts';
import { RawSocket } from './lib/raw-socket.ts';

// Seed 002's echo page: a form, your messages and the server's replies in two colours.
const messages = byId<HTMLOListElement>('messages');
const form = byId<HTMLFormElement>('composer');
const input = byId<HTMLInputElement>('text');
const sendButton = byId<HTMLButtonElement>('send');

const socket = new RawSocket('/echo', {
  onMessage: (text) => appendMessage(messages, { kind: 'theirs', who: 'Server', text }),
  onState: (state, detail) => {
    showConnectionState(state, detail);
    sendButton.disabled = state !== 'connected';
  },
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value;
  if (text === '' || !socket.send(text)) return;
  appendMessage(messages, { kind: 'mine', who: 'You', text });
  input.value = '';
  input.focus();
});
