import { showConnectionState } from './lib/connection-status.ts';
import { byId } from './lib/dom.ts';
import { RawSocket } from './lib/raw-socket.ts';

// Seed 004's task, with its progress: the server pushes every event of the task to this page.
type TaskEvent =
  | { type: 'started'; id: string }
  | { type: 'progress'; id: string; progress: number }
  | { type: 'completed'; id: string; result: unknown }
  | { type: 'failed'; id: string; reason: string }
  | { type: 'error'; message: string };

const form = byId<HTMLFormElement>('start-form');
const valueInput = byId<HTMLInputElement>('task-value');
const startButton = byId<HTMLButtonElement>('start');
const run = byId('run');
const taskId = byId('task-id');
const state = byId('task-state');
const progress = byId<HTMLProgressElement>('progress');
const result = byId('result');
let current: string | undefined;

function show(stateName: string, text: string): void {
  state.dataset.state = stateName;
  state.textContent = text;
}

const socket = new RawSocket('/async_task/progress', {
  onState: (connection, detail) => {
    showConnectionState(connection, detail);
    if (connection === 'connected' && current !== undefined) {
      // This socket's subscription to the task went with the old connection.
      current = undefined;
      show('failed', 'The connection dropped while the task ran, so its result was not received. Start it again.');
    }
    startButton.disabled = connection !== 'connected' || current !== undefined;
  },
  onMessage: (text) => {
    const event = JSON.parse(text) as TaskEvent;
    if (event.type === 'error') {
      current = undefined;
      startButton.disabled = !socket.isOpen;
      return show('failed', event.message);
    }
    if (event.type === 'started') {
      current = event.id;
      taskId.textContent = event.id.slice(0, 8);
      taskId.title = event.id;
      return;
    }
    if (current !== undefined && event.id !== current) return;
    if (event.type === 'progress') {
      progress.value = event.progress;
      show('running', `Running: ${event.progress} %`);
    } else {
      current = undefined;
      startButton.disabled = !socket.isOpen;
      result.hidden = false;
      if (event.type === 'completed') {
        progress.value = 100;
        show('completed', 'Done.');
        result.className = 'result';
        result.textContent = `Result: ${JSON.stringify(event.result)}`;
      } else {
        show('failed', 'Failed.');
        result.className = 'result failed';
        result.textContent = event.reason;
      }
    }
  },
});

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const raw = valueInput.value.trim();
  if (raw === '') return;
  // A number stays a number (42 returns 42), anything else is sent as text.
  const value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  if (!socket.send(JSON.stringify({ task_id: value }))) return;
  startButton.disabled = true;
  run.hidden = false;
  result.hidden = true;
  progress.value = 0;
  taskId.textContent = '';
  show('queued', 'Queued…');
});
