import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { installDefaultApp } from '../src/app/default-app.ts';
import { scheduleQueueName, tickJobId } from '../src/schedules/durable-ticks.ts';
import { REDIS_URL, spawnHerald, startHerald, uniquePrefix, type HeraldProcess } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const CLOCK_TEXT = /^当前时间: (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** The tick time (ms) a clock message names; the servers share this process's time zone. */
function tickOf(text: string): number {
  const m = CLOCK_TEXT.exec(text);
  assert.ok(m, `not a clock message: ${text}`);
  return new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!).getTime();
}

function assertEverySecond(texts: string[], what: string): void {
  const ticks = texts.map(tickOf);
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i]! - ticks[i - 1]!, 1000, `${what}: ${texts.join(' | ')}`);
}

// Issue 5's "done when": three processes on one Redis, a clock socket on each; every socket gets
// exactly one message per tick; killing the process that fires keeps the ticks coming. The default
// clock fires every 5 s; HERALD_CLOCK_INTERVAL_MS=1000 gives enough ticks in a short test.
describe('clock across a cluster', () => {
  const servers: HeraldProcess[] = [];
  after(() => Promise.all(servers.map((server) => server.stop('SIGKILL'))));

  test('three processes: exactly one message per tick on every socket, also after the firing process is killed', async () => {
    const prefix = uniquePrefix();
    const env = { REDIS_URL, HERALD_REDIS_PREFIX: prefix, HERALD_CLOCK_INTERVAL_MS: '1000' };
    servers.push(...(await Promise.all([spawnHerald(env), spawnHerald(env), spawnHerald(env)])));
    const clients = await Promise.all(servers.map((server) => TestClient.open(`${server.wsUrl}/ws/ws_example_channel`)));

    // Align the three sockets on one tick: the first tick all of them have seen.
    const firsts = await Promise.all(clients.map((client) => client.next(5000)));
    const start = Math.max(...firsts.map(tickOf));
    for (const [i, client] of clients.entries()) {
      while (tickOf(firsts[i]!) < start) firsts[i] = await client.next(5000);
    }

    // Phase 1: six ticks, the same six on every process, one message each.
    const phase1 = await Promise.all(clients.map(async (client, i) => [firsts[i]!, ...(await client.take(5, 5000))]));
    for (const texts of phase1) assert.deepEqual(texts, phase1[0]);
    assertEverySecond(phase1[0]!, 'phase 1');

    // Kill the process that fired the last tick (the tick's job names it).
    const queue = new Queue(scheduleQueueName('clock'), { connection: { url: REDIS_URL }, prefix: `${prefix}bull` });
    const lastTick = tickOf(phase1[0]!.at(-1)!);
    const winner = (await queue.getJob(tickJobId(lastTick)))?.processedBy;
    await queue.close();
    const firing = servers.findIndex((server) => winner?.endsWith(`/${server.child.pid}`));
    assert.notEqual(firing, -1, `the winner ${winner} is one of the three servers`);
    await servers[firing]!.stop('SIGKILL');

    // Phase 2: the survivors keep getting one message per tick, with no tick missing.
    const survivors = clients.filter((_client, i) => i !== firing);
    const phase2 = await Promise.all(survivors.map((client) => client.take(6, 5000)));
    for (const texts of phase2) assert.deepEqual(texts, phase2[0]);
    assertEverySecond([phase1[0]!.at(-1)!, ...phase2[0]!], 'after the kill');
    await Promise.all(clients.map((client) => client.close()));
  });

  test('the default clock fires on every 5th second with the seed-style text', async () => {
    const server = await startHerald({}, (herald) => installDefaultApp(herald, {}));
    const client = await TestClient.open(`${server.wsUrl}/ws/ws_example_channel`);
    const text = await client.next(7000);
    assert.match(text, CLOCK_TEXT);
    assert.equal(new Date(tickOf(text)).getSeconds() % 5, 0);
    await client.close();
    await server.close();
  });
});
