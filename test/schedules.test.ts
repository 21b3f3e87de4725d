import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { createHerald, type Herald } from '../src/herald.ts';
import { waitFor } from './support/servers.ts';

function quietHerald(options: Parameters<typeof createHerald>[0] = {}): Herald {
  return createHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
}

interface Fired {
  tick: number;
  /** When the handler ran. */
  at: number;
}

/**
 * Asserts what holds however loaded the machine is: ticks are multiples of `every`, in order, none
 * twice, none run early, and none run more than one period late (staler ones are skipped).
 */
function assertOnSchedule(fired: Fired[], every: number): void {
  const seen = JSON.stringify(fired.map((f) => ({ tick: f.tick, late: f.at - f.tick })));
  for (const [i, { tick, at }] of fired.entries()) {
    assert.equal(tick % every, 0, seen);
    if (i > 0) assert.ok(tick > fired[i - 1]!.tick, `out of order or twice: ${seen}`);
    assert.ok(at >= tick, `ran early: ${seen}`);
    // The timer checks "at most one period late" just before it calls the handler (the margin:
    // the operating system may pause the process between the two on a loaded machine).
    assert.ok(at - tick <= every + 100, `ran over a period late: ${seen}`);
  }
}

describe('schedules', () => {
  test('an interval schedule fires on epoch-aligned ticks, with the tick time, in order and never twice', async () => {
    const herald = quietHerald();
    const fired: Fired[] = [];
    herald.schedule('every-300', { everyMs: 300 }, (tick) => {
      assert.equal(tick.name, 'every-300');
      fired.push({ tick: tick.time.getTime(), at: Date.now() });
    });
    await herald.listen();
    await waitFor(() => fired.length >= 4, 10_000, '4 ticks');
    await herald.close();
    assertOnSchedule(fired, 300);
  });

  test('a cron schedule with seconds fires on the matching seconds', async () => {
    const herald = quietHerald();
    const fired: Fired[] = [];
    herald.schedule('each-second', { cron: '* * * * * *' }, (tick) => {
      fired.push({ tick: tick.time.getTime(), at: Date.now() });
    });
    await herald.listen();
    await waitFor(() => fired.length >= 2, 10_000, '2 cron ticks');
    await herald.close();
    assertOnSchedule(fired, 1000);
  });

  test('a tick up to one period overdue still fires late; after a longer stall the stale ticks are skipped', async () => {
    const herald = quietHerald();
    const fired: Fired[] = [];
    const busyUntil = (ms: number): void => {
      while (Date.now() < ms);
    };
    herald.schedule('stalls', { everyMs: 1000 }, (tick) => {
      const t = tick.time.getTime();
      fired.push({ tick: t, at: Date.now() });
      // Block the event loop, as a busy process would.
      if (fired.length === 1) busyUntil(t + 1050); // the next tick is at least 50 ms overdue
      if (fired.length === 2) busyUntil(t + 2100); // the next is at least 1100 ms overdue, the one after 100 ms
    });
    await herald.listen();
    await waitFor(() => fired.length >= 3, 15_000, '3 ticks');
    await herald.close();
    assertOnSchedule(fired, 1000);
    const [first, second, third] = fired as [Fired, Fired, Fired];
    // Overdue by less than a period: fired, late (the timer had up to 950 ms to get to it).
    assert.equal(second.tick, first.tick + 1000);
    assert.ok(second.at - second.tick >= 50, `second tick ran ${second.at - second.tick} ms late`);
    // Overdue by more than a period: skipped, whatever the load.
    assert.ok(third.tick >= second.tick + 2000, `the stale tick ${second.tick + 1000} fired`);
  });

  test('a handler that throws is logged and the schedule keeps firing', async () => {
    const herald = quietHerald();
    let calls = 0;
    herald.schedule('flaky', { everyMs: 100 }, () => {
      calls++;
      throw new Error('boom');
    });
    await herald.listen();
    await waitFor(() => calls >= 3, 5000, '3 calls');
    await herald.close();
  });

  test('bad definitions are refused at registration with a ConfigError naming the problem', () => {
    const herald = quietHerald();
    herald.schedule('ok', { everyMs: 1000 }, () => {});
    assert.throws(() => herald.schedule('ok', { everyMs: 1000 }, () => {}), (e: unknown) => e instanceof ConfigError && /already defined/.test(e.message));
    assert.throws(() => herald.schedule('bad', { cron: 'every tuesday' }, () => {}), (e: unknown) => e instanceof ConfigError && /bad cron pattern/.test(e.message));
    assert.throws(() => herald.schedule('fast', { everyMs: 1 }, () => {}), (e: unknown) => e instanceof ConfigError && /everyMs/.test(e.message));
    assert.throws(() => herald.schedule('sp ace', { everyMs: 1000 }, () => {}), ConfigError);
    assert.throws(() => herald.schedule('none', {} as never, () => {}), ConfigError);
  });
});
