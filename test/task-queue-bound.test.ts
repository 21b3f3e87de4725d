import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { installDefaultApp } from '../src/app/default-app.ts';
import type { TaskEvent } from '../src/tasks/task-channel.ts';
import { InProcessTaskRunner } from '../src/tasks/in-process-runner.ts';
import { TaskRegistry } from '../src/tasks/task-registry.ts';
import { REDIS_URL, postJson, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

const FULL = { code: 'HERALD_ERR_TASK_QUEUE_FULL', message: '3 tasks are already waiting to run; the task was not started' };

// One process without Redis, running one task at a time, with room for 3 waiting tasks.
describe('the in-process task queue is bounded', () => {
  let server: RunningHerald;
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  before(async () => {
    server = await startHerald({ maxQueuedTasks: 3, taskWorkers: 1 }, (herald) => {
      installDefaultApp(herald);
      herald.task('hold', () => held);
    });
  });
  after(() => {
    release();
    return server.close();
  });

  test('once 3 tasks wait, every way of starting one is refused with HERALD_ERR_TASK_QUEUE_FULL; they run and the queue takes tasks again', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { status, body } = await postJson(`${server.url}/api/tasks`, { name: 'hold' });
      assert.equal(status, 202, `start ${i}`);
      ids.push(body.id);
      // The first one runs (one worker) and so leaves the queue; the next three wait.
      if (i === 0) await waitFor(async () => (await server.herald.tasks.get(body.id))?.state === 'running', 5000, 'the first task to run');
    }

    assert.deepEqual(await postJson(`${server.url}/api/tasks`, { name: 'hold' }), { status: 503, body: { ok: false, error: FULL } });
    assert.deepEqual(await postJson(`${server.url}/example_task`, { value: 1 }), { status: 503, body: { ok: false, error: FULL } });
    await assert.rejects(server.herald.tasks.start('hold'), { code: FULL.code, message: FULL.message });
    await assert.rejects(server.herald.tasks.run('hold'), { code: FULL.code, message: FULL.message });

    const connect = await TestClient.open(`${server.wsUrl}/connect`);
    await connect.next(); // welcome
    connect.send({ op: 'task', id: 1, name: 'example', args: { value: 1 } });
    assert.deepEqual(await connect.nextJson(), { type: 'reply', id: 1, error: FULL });
    assert.equal(server.herald.stats().channels, 0, 'the refused task left no channel subscribed');
    await connect.close();

    const seed = await TestClient.open(`${server.wsUrl}/async_task/`);
    seed.send('{"task_id": 9}');
    assert.deepEqual(await seed.take(2), [
      JSON.stringify({ msg: '任务9正在执行。。。', flag: true }),
      JSON.stringify({ msg: 'failed', flag: false, data: { reason: FULL.message } }),
    ]);
    assert.equal((await seed.closed).code, 1000);

    const raw = await TestClient.open(`${server.wsUrl}/ws/task:${ids[3]}`);
    release();
    assert.deepEqual(await raw.nextJson(), { type: 'completed', id: ids[3], result: null });
    await raw.close();
    for (const id of ids) assert.equal((await server.herald.tasks.get(id))?.state, 'completed');
    const { status } = await postJson(`${server.url}/api/tasks`, { name: 'hold' });
    assert.equal(status, 202, 'the queue takes tasks again');
  });
});

describe('the BullMQ queue is bounded across the cluster', () => {
  let server: RunningHerald;
  before(async () => {
    // No workers: every started task waits.
    server = await startHerald({ redisUrl: REDIS_URL, redisPrefix: uniquePrefix(), maxQueuedTasks: 3, taskWorkers: 0 });
  });
  after(() => server.close());

  test('a fourth waiting task is refused with 503 HERALD_ERR_TASK_QUEUE_FULL', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: i } })).status, 202);
    assert.deepEqual(await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 3 } }), { status: 503, body: { ok: false, error: FULL } });
  });
});

describe('finished in-process tasks are freed after their retention', () => {
  const log = pino({ level: 'silent' });
  const registry = new TaskRegistry();
  registry.define('quick', (n: number) => n);

  test('statuses are dropped after retainFinishedMs, and beyond maxFinished the oldest go at once', async () => {
    const events: TaskEvent[] = [];
    const runner = new InProcessTaskRunner(registry, async (event) => void events.push(event), log, { retainFinishedMs: 300, maxFinished: 2 });
    await runner.startWorkers(1);
    for (const id of ['a', 'b', 'c']) await runner.enqueue(id, 'quick', id);
    await waitFor(() => events.length === 3, 5000, 'three outcomes');
    assert.deepEqual(events.map((event) => event.id), ['a', 'b', 'c']);
    assert.equal(await runner.status('a'), undefined, 'beyond maxFinished the oldest is dropped');
    assert.equal((await runner.status('c'))?.state, 'completed');
    assert.equal(runner.retained, 2);
    await waitFor(async () => runner.retained === 0, 5000, 'the retention to pass');
    assert.equal(await runner.status('c'), undefined);
    await runner.close(100);
  });
});
