import type { Subscription } from '../../client/index.ts';
import { byId } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';

// Seed 004's task with its progress. The page picks the task's id, subscribes to its channel
// `task:<id>` with the client SDK, and only then asks the server to start it, so it misses no
// event; the channel keeps history, so a reconnect mid-task recovers what was missed.
type TaskEvent =
  | { type: 'progress'; id: string; progress: number }
  | { type: 'completed'; id: string; result: unknown }
  | { type: 'failed'; id: string; reason: string };

const form = byId<HTMLFormElement>('start-form');
const valueInput = byId<HTMLInputElement>('task-value');
const startButton = byId<HTMLButtonElement>('start');
const run = byId('run');
const taskId = byId('task-id');
const state = byId('task-state');
const progress = byId<HTMLProgressElement>('progress');
const result = byId('result');

const herald = connectToServer();
let current: Subscription | undefined;

function show(stateName: string, text: string): void {
  state.dataset.state = stateName;
  state.textContent = text;
}

function finished(): void {
  current?.unsubscribe();
  current = undefined;
  startButton.disabled = false;
}

function showEvent(event: TaskEvent): void {
  if (event.type === 'progress') {
    progress.value = event.progress;
    show('running', `Running: ${event.progress} %`);
    return;
  }
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
  finished();
}

async function start(value: string | number): Promise<void> {
  const id = crypto.randomUUID();
  startButton.disabled = true;
  run.hidden = false;
  result.hidden = true;
  progress.value = 0;
  taskId.textContent = id.slice(0, 8);
  taskId.title = id;
  show('queued', 'Queued…');
  const subscription = herald.subscribe(`task:${id}`, (data) => {
    if (subscription === current) showEvent(data as TaskEvent);
  });
  current = subscription;
  try {
    await subscription.ready;
    const response = await fetch('/example_task', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value, id }),
    });
    if (response.status !== 202) {
      const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
      throw new Error(body.error?.message ?? `the server answered ${response.status}`);
    }
  } catch (error) {
    if (subscription !== current) return;
    show('failed', `Could not start the task: ${(error as Error).message}`);
    finished();
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const raw = valueInput.value.trim();
  // A number stays a number (42 returns 42), anything else is sent as text.
  if (raw !== '' && current === undefined) void start(/^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw);
});
