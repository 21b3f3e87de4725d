import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../src/config.ts';
import { createHerald, type Herald } from '../src/herald.ts';
import { REDIS_URL, redisClient, uniquePrefix, waitFor } from './support/servers.ts';

function quietHerald(options: Parameters<typeof createHerald>[0] = {}): Herald {
  return createHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
}

/** Asserts that `ticks` (ms) are strictly consecutive multiples of `every`. */
function assertConsecutive(ticks: number[], every: number): void {
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, every, `ticks ${ticks.join(', ')}`);
}

describe('schedules', () => {
  test('an interval schedule fires on every epoch-aligned tick, with the tick time', async () => {
    const herald = quietHerald();
    const ticks: number[] = [];
    herald.schedule('every-300', { everyMs: 300 }, (tick) => {
      assert.equal(tick.name, 'every-300');
      ticks.push(tick.time.getTime());
    });
    await herald.listen();
    await waitFor(() => ticks.length >= 4, 5000, '4 ticks');
    await herald.close();
    for (const tick of ticks) assert.equal(tick % 300, 0);
    assertConsecutive(ticks, 300);
  });

  test('a cron schedule with seconds fires on the matching seconds', async () => {
    const herald = quietHerald();
    const ticks: number[] = [];
    herald.schedule('each-second', { cron: '* * * * * *' }, (tick) => {
      ticks.push(tick.time.getTime());
    });
    await herald.listen();
    await waitFor(() => ticks.length >= 2, 5000, '2 cron ticks');
    await herald.close();
    for (const tick of ticks) assert.equal(tick % 1000, 0);
    assertConsecutive(ticks, 1000);
  });

  test('a tick up to one period overdue still fires late; after a longer stall the stale ticks are skipped', async () => {
    const herald = quietHerald();
    const ticks: number[] = [];
    const busyUntil = (ms: number): void => {
      while (Date.now() < ms);
    };
    herald.schedule('stalls', { everyMs: 500 }, (tick) => {
      const t = tick.time.getTime();
      ticks.push(t);
      // Block the event loop, as a busy process would.
      if (ticks.length === 1) busyUntil(t + 650); // the next tick is 150 ms overdue: it fires
      if (ticks.length === 3) busyUntil(t + 1800); // ticks 1300 and 800 ms overdue are skipped; 300 ms overdue fires
    });
    await herald.listen();
    await waitFor(() => ticks.length >= 4, 8000, '4 ticks');
    await herald.close();
    const t0 = ticks[0]!;
    assert.deepEqual(ticks.slice(0, 4).map((t) => t - t0), [0, 500, 1000, 2500]);
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

  test('two processes sharing Redis fire each tick exactly once between them', async () => {
    const prefix = uniquePrefix();
    const fired: Array<{ who: string; tick: number }> = [];
    const heralds = ['a', 'b'].map((who) => {
      const herald = quietHerald({ redisUrl: REDIS_URL, redisPrefix: prefix });
      herald.schedule('shared', { everyMs: 250 }, (tick) => {
        fired.push({ who, tick: tick.time.getTime() });
      });
      return herald;
    });
    await Promise.all(heralds.map((h) => h.listen()));
    await waitFor(() => fired.length >= 8, 10_000, '8 ticks');
    await Promise.all(heralds.map((h) => h.close()));
    const ticks = fired.map((f) => f.tick);
    assert.equal(new Set(ticks).size, ticks.length, `a tick fired twice: ${JSON.stringify(fired)}`);
    assertConsecutive(ticks, 250);
    // The claim names the winner, for operators.
    const redis = redisClient();
    const winner = await redis.get(`${prefix}schedule:shared:${ticks.at(-1)}`);
    await redis.quit();
    assert.match(String(winner), new RegExp(`/${process.pid}$`));
  });
});
