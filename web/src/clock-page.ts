import { showConnectionState } from './lib/connection-status.ts';
import { byId, el } from './lib/dom.ts';
import { RawSocket } from './lib/raw-socket.ts';

// Seed 000's live clock: every tick the server publishes "当前时间: YYYY-MM-DD HH:MM:SS" to
// ws_example_channel; the page shows the time large and the last few ticks as received.
const clock = byId('clock');
const cadence = byId('cadence');
const ticks = byId<HTMLOListElement>('ticks');
const KEEP = 6;
let previous: number | undefined;

new RawSocket('/ws/ws_example_channel', {
  onState: showConnectionState,
  onMessage: (text) => {
    const time = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)/.exec(text);
    if (time === null) return;
    clock.textContent = time[2]!;
    clock.title = time[1]!;
    const at = Date.parse(`${time[1]}T${time[2]}`);
    cadence.textContent = previous === undefined ? `${time[1]}: waiting for the next tick…` : `${time[1]}: ticks ${Math.round((at - previous) / 1000)} s apart.`;
    previous = at;
    ticks.prepend(el('li', {}, text));
    while (ticks.children.length > KEEP) ticks.lastElementChild!.remove();
  },
});
