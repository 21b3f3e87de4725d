import { byId, el } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';

// Seed 000's live clock: every tick the server publishes "当前时间: YYYY-MM-DD HH:MM:SS" to
// ws_example_channel. The channel keeps history, so the page shows the last ticks at once, then
// each new one as it comes.
const CHANNEL = 'ws_example_channel';
const KEEP = 6;
const clock = byId('clock');
const cadence = byId('cadence');
const ticks = byId<HTMLOListElement>('ticks');

interface Tick {
  offset: number;
  text: string;
  date: string;
  time: string;
}
/** Newest first, each once (by offset), whether it came from history or live. */
let shown: Tick[] = [];

function showTick(data: unknown, offset: number | undefined): void {
  const match = typeof data === 'string' ? /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/.exec(data) : null;
  if (match === null) return;
  // A tick without an offset (a channel without history) is simply the newest.
  const position = offset ?? (shown[0]?.offset ?? 0) + 1;
  if (shown.some((tick) => tick.offset === position)) return;
  shown = [...shown, { offset: position, text: data as string, date: match[1]!, time: match[2]! }]
    .sort((a, b) => b.offset - a.offset)
    .slice(0, KEEP);
  ticks.replaceChildren(...shown.map((tick) => el('li', {}, tick.text)));
  const [newest, previous] = shown as [Tick, Tick | undefined];
  clock.textContent = newest.time;
  const seconds = (tick: Tick): number => Date.parse(`${tick.date}T${tick.time}`) / 1000;
  cadence.textContent =
    previous === undefined ? `${newest.date}: waiting for the next tick…` : `${newest.date}: ticks ${Math.round(seconds(newest) - seconds(previous))} s apart.`;
}

const herald = connectToServer();
const subscription = herald.subscribe(CHANNEL, (data, { offset }) => showTick(data, offset));
subscription.on('subscribed', ({ resubscribed }) => {
  if (resubscribed) return;
  herald.history(CHANNEL, { limit: 3 }).then(
    ({ publications }) => publications.forEach(({ offset, data }) => showTick(data, offset)),
    () => {},
  );
});
