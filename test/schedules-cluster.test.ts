import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createHerald } from '../src/herald.ts';
import { scheduleEventsKey, scheduleReleaseKey } from './support/schedule-app.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { redisBackends } from './support/redis-backends.ts';
import { REDIS_URL, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';

interface TickEvent {
  kind: 'started' | 'completed';
  tick: number;
  pid: number;
}

function parse(line: string): TickEvent {
  const [kind, tick, pid] = line.split(' ');
  return { kind: kind as TickEvent['kind'], tick: Number(tick), pid: Number(pid) };
}

// Two server processes on one Redis (and on a Redis Cluster) share a schedule whose handler records
// its start and end in Redis and waits in between until the test releases that tick.
for (const backend of await redisBackends()) {
  describe(`schedules across processes (${backend.name})`, () => {
    const servers: HeraldProcess[] = [];
    const redis = backend.client();
    after(async () => {
      await Promise.all(servers.map((server) => server.stop('SIGKILL')));
      await redis.quit();
    });

    test('a tick whose process is killed mid-handler completes once on the other process; no tick runs twice or overlaps another', async () => {
      const prefix = uniquePrefix();
      const env = { ...backend.env, HERALD_REDIS_PREFIX: prefix, HERALD_SCHEDULE_STALL_MS: '2000', SCHEDULE_EVERY_MS: '1000' };
      servers.push(...(await Promise.all([spawnHerald(env, 'test/support/schedule-server.ts'), spawnHerald(env, 'test/support/schedule-server.ts')])));
      const pids = servers.map((server) => server.child.pid!);
      const events: TickEvent[] = [];
      let killed: TickEvent | undefined;
      const released = new Set<string>();
      // Release every start except the first one, whose process is killed instead.
      const follow = async (): Promise<void> => {
        const lines = await redis.lrange(scheduleEventsKey(prefix), events.length, -1);
        for (const event of lines.map(parse)) {
          events.push(event);
          if (event.kind !== 'started') continue;
          if (killed === undefined) {
            killed = event;
            await servers[pids.indexOf(event.pid)]!.stop('SIGKILL');
            continue;
          }
          const key = `${event.tick} ${event.pid}`;
          if (!released.has(key)) {
            released.add(key);
            await redis.rpush(scheduleReleaseKey(prefix, event.tick), 'go');
          }
        }
      };
      const completions = (): TickEvent[] => events.filter((event) => event.kind === 'completed');
      await waitFor(async () => {
        await follow();
        const victim = killed;
        return victim !== undefined && completions().some((event) => event.tick === victim.tick) && completions().filter((event) => event.tick > victim.tick).length >= 2;
      }, 40_000, 'the killed tick to complete elsewhere, then two more ticks');

      const victim = killed!;
      const survivor = pids.find((pid) => pid !== victim.pid)!;
      const history = events.map((e) => `${e.kind} ${e.tick} ${e.pid === victim.pid ? 'killed' : 'survivor'}`).join('\n');
      // The killed tick: started on the killed process, started again and completed once on the other.
      const ofVictimTick = events.filter((event) => event.tick === victim.tick);
      assert.deepEqual(ofVictimTick.map((e) => [e.kind, e.pid]), [['started', victim.pid], ['started', survivor], ['completed', survivor]], history);
      // Every other tick started once, on the survivor; each completed tick completed once.
      const others = events.filter((event) => event.tick !== victim.tick);
      assert.ok(others.every((event) => event.pid === survivor), history);
      const startedTicks = others.filter((e) => e.kind === 'started').map((e) => e.tick);
      assert.equal(new Set(startedTicks).size, startedTicks.length, `a tick started twice:\n${history}`);
      const completedTicks = completions().map((e) => e.tick);
      assert.equal(new Set(completedTicks).size, completedTicks.length, `a tick completed twice:\n${history}`);
      // No overlap: after the killed start, each start is followed by its own completion before the next start.
      const afterKill = events.slice(events.indexOf(victim) + 1);
      for (let i = 0; i + 1 < afterKill.length; i += 2) {
        assert.equal(afterKill[i]!.kind, 'started', history);
        assert.deepEqual(afterKill[i + 1], { ...afterKill[i]!, kind: 'completed' }, history);
      }
    });
  });
}

describe('schedules while Redis blips', () => {
  test('a tick that comes due while Redis is unreachable for part of a period still runs, once', async () => {
    const proxy = await TcpProxy.start(new URL(REDIS_URL).port === '' ? 6379 : Number(new URL(REDIS_URL).port));
    const herald = createHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent', redisUrl: `redis://127.0.0.1:${proxy.port}`, redisPrefix: uniquePrefix() });
    const ticks: number[] = [];
    let blipped: number | undefined;
    herald.schedule('through-a-blip', { everyMs: 1000 }, (tick) => {
      ticks.push(tick.time.getTime());
      if (blipped !== undefined) return;
      // Redis unreachable from now until 300 ms after the next tick.
      blipped = tick.time.getTime() + 1000;
      proxy.down();
      setTimeout(() => proxy.up(), blipped + 300 - Date.now());
    });
    await herald.listen();
    await waitFor(() => blipped !== undefined && ticks.some((tick) => tick > blipped!), 15_000, 'a tick after the blip');
    await herald.close();
    await proxy.close();
    assert.ok(ticks.includes(blipped!), `the tick during the blip ran: ${ticks.join(', ')}`);
    assert.equal(new Set(ticks).size, ticks.length, `a tick ran twice: ${ticks.join(', ')}`);
  });
});
