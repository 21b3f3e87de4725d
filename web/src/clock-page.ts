import { byId, el } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';
import { StreamOrder } from './lib/stream-order.ts';

// The live clock: every tick the server publishes "当前时间: YYYY-MM-DD HH:MM:SS" to
// ws_example_channel. The channel keeps history, so the page shows the last ticks at once, then
// each new one as it comes. A server that lost the channel's history (a restart with the embedded
// broker) starts a new epoch whose offsets begin at 1 again: its ticks are a new stream, shown
// above the old ones, and the page reloads the latest of them from history.
const CHANNEL = 'ws_example_channel';
const KEEP = 6;
const clock = byId('clock');
const cadence = byId('cadence');
const notice = byId('clock-notice');
const ticks = byId<HTMLOListElement>('ticks');

interface Tick {
  rank: number;
  offset: number;
  text: string;
  date: string;
  time: string;
}
const order = new StreamOrder();
/** Newest first (by epoch, then offset), each once, whether it came from history or live. */
let shown: Tick[] = [];

function showTick(data: unknown, offset: number | undefined, epoch: string | undefined): void {
  const match = typeof data === 'string' ? /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/.exec(data) : null;
  if (match === null) return;
  const rank = epoch === undefined ? order.latestRank : order.rankOf(epoch);
  // A tick without an offset (a channel without history) is simply the newest.
  const position = offset ?? (shown[0]?.offset ?? 0) + 1;
  if (shown.some((tick) => tick.rank === rank && tick.offset === position)) return;
  shown = [...shown, { rank, offset: position, text: data as string, date: match[1]!, time: match[2]! }]
    .sort((a, b) => b.rank - a.rank || b.offset - a.offset)
    .slice(0, KEEP);
  ticks.replaceChildren(...shown.map((tick) => el('li', {}, tick.text)));
  const [newest, previous] = shown as [Tick, Tick | undefined];
  clock.textContent = newest.time;
  const seconds = (tick: Tick): number => Date.parse(`${tick.date}T${tick.time}`) / 1000;
  cadence.textContent =
    previous === undefined ? `${newest.date}: waiting for the next tick…` : `${newest.date}: ticks ${Math.round(seconds(newest) - seconds(previous))} s apart.`;
}

/** Shows the latest ticks the server keeps; `lost` says the earlier stream could not be continued. */
function loadHistory(lost: boolean): void {
  herald.history(CHANNEL, { limit: 3 }).then(
    ({ publications, epoch }) => {
      if (lost) {
        notice.textContent = 'The server restarted and lost the earlier ticks: showing its ticks since.';
        notice.hidden = false;
      }
      publications.forEach(({ offset, data }) => showTick(data, offset, epoch));
    },
    () => {},
  );
}

const herald = connectToServer();
const subscription = herald.subscribe(CHANNEL, (data, { offset, epoch }) => showTick(data, offset, epoch));
// The SDK resubscribes when it sees a new epoch or reconnects; `recovered: false` then means the
// ticks in between are gone, so the page starts over from what the server has now.
subscription.on('subscribed', ({ resubscribed, recovered }) => {
  if (!resubscribed) loadHistory(false);
  else if (!recovered) loadHistory(true);
});
