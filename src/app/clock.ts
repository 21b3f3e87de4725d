import type { Herald } from '../herald.ts';

/**
 * Seed 000's beat task, each tick on one process of the cluster: `当前时间: YYYY-MM-DD HH:MM:SS`
 * (the tick's time, in the server's local time zone) to `ws_example_channel`, every 5th second by
 * default.
 */
export function clock(herald: Herald, intervalMs: number | undefined): void {
  herald.schedule('clock', intervalMs === undefined ? { cron: '*/5 * * * * *' } : { everyMs: intervalMs }, (tick) =>
    herald.publish('ws_example_channel', `当前时间: ${formatLocalTime(tick.time)}`),
  );
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatLocalTime(time: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${time.getFullYear()}-${two(time.getMonth() + 1)}-${two(time.getDate())} ` +
    `${two(time.getHours())}:${two(time.getMinutes())}:${two(time.getSeconds())}`
  );
}
