import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REDIS_URL, postJson, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { spawnWorker, type WorkerProcess } from './support/workers.ts';
import { TestClient } from './support/ws-client.ts';

async function stateOf(server: HeraldProcess, id: string): Promise<string> {
  const response = await fetch(`${server.url}/api/tasks/${id}`);
  return ((await response.json()) as { state: string }).state;
}

// Tasks started on a server that runs none itself (HERALD_TASK_WORKERS=0) and run by
// `npm run worker` processes; the outcome is pushed to the socket on the server.
describe('tasks across processes (BullMQ)', () => {
  const env = { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_TASK_STALL_MS: '1000', HERALD_EXAMPLE_TASK_DELAY_MS: '2500' };
  let server: HeraldProcess;
  const workers: WorkerProcess[] = [];
  before(async () => {
    server = await spawnHerald({ ...env, HERALD_TASK_WORKERS: '0' });
  });
  after(() => Promise.all([server.stop('SIGKILL'), ...workers.map((worker) => worker.stop('SIGKILL'))]));

  test('a task started over HTTP on the server waits for a worker, runs there, and its result is pushed to a socket on the server', async () => {
    const { status, body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 'from A' } });
    assert.equal(status, 202);
    const client = await TestClient.open(`${server.wsUrl}/ws/task:${body.id}`);
    // No process runs tasks yet: it stays queued.
    assert.equal(await stateOf(server, body.id), 'queued');
    assert.equal(await client.silentFor(300), true);
    workers.push(await spawnWorker(env));
    assert.deepEqual(await client.nextJson(15_000), { type: 'completed', id: body.id, result: 'from A' });
    assert.equal(await stateOf(server, body.id), 'completed');
    await client.close();
  });

  test('/async_task/ on the server gets the result of the task the worker ran', async () => {
    const client = await TestClient.open(`${server.wsUrl}/async_task/`);
    client.send('{"task_id": 11}');
    assert.deepEqual(await client.nextJson(), { msg: '任务11正在执行。。。', flag: true });
    assert.deepEqual(await client.nextJson(15_000), { msg: 'success', flag: true, data: { result: 11 } });
    assert.equal((await client.closed).code, 1000);
  });

  test('a worker killed mid-task: another worker picks the task up and its result still reaches the socket', async () => {
    const { body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 8 } });
    const client = await TestClient.open(`${server.wsUrl}/ws/task:${body.id}`);
    await waitFor(async () => (await stateOf(server, body.id)) === 'running', 10_000, 'the task running on the first worker');
    await workers[0]!.stop('SIGKILL');
    workers.push(await spawnWorker(env));
    assert.deepEqual(await client.nextJson(20_000), { type: 'completed', id: body.id, result: 8 });
    assert.equal(await stateOf(server, body.id), 'completed');
    await client.close();
  });

  test('the worker command refuses to start without Redis, with a clear message', async () => {
    await assert.rejects(spawnWorker({ REDIS_URL: '' }), /worker exited with 2:[\s\S]*needs REDIS_URL/);
  });
});
