import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { redisBackends, type RedisBackend } from './support/redis-backends.ts';
import { postJson, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { spawnWorker, type WorkerProcess } from './support/workers.ts';
import { TestClient } from './support/ws-client.ts';

async function statusOf(server: HeraldProcess, id: string): Promise<{ state: string; runs: number }> {
  const response = await fetch(`${server.url}/api/tasks/${id}`);
  return (await response.json()) as { state: string; runs: number };
}

async function stateOf(server: HeraldProcess, id: string): Promise<string> {
  return (await statusOf(server, id)).state;
}

/** Waits until the task is running for the `run`th time (a task whose worker died stays "running" until the stalled check). */
async function runningFor(server: HeraldProcess, id: string, run: number): Promise<void> {
  await waitFor(async () => {
    const status = await statusOf(server, id);
    return status.state === 'running' && status.runs === run;
  }, 15_000, `the task's run ${run}`);
}

interface TaskCluster {
  server: HeraldProcess;
  /** Starts one more `npm run worker` process on this cluster's Redis prefix. */
  spawnWorker(): Promise<WorkerProcess>;
}

/**
 * A server that runs no tasks itself (HERALD_TASK_WORKERS=0), on a Redis prefix of the calling
 * test's own, so no test sees another's queue or workers; the test starts the workers it needs.
 * Every process is killed when the test ends.
 */
async function taskCluster(t: TestContext, backend: RedisBackend): Promise<TaskCluster> {
  const env = { ...backend.env, HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_TASK_STALL_MS: '1000', HERALD_EXAMPLE_TASK_DELAY_MS: '2500' };
  const server = await spawnHerald({ ...env, HERALD_TASK_WORKERS: '0' });
  const workers: WorkerProcess[] = [];
  t.after(() => Promise.all([server.stop('SIGKILL'), ...workers.map((worker) => worker.stop('SIGKILL'))]));
  return {
    server,
    async spawnWorker() {
      const worker = await spawnWorker(env);
      workers.push(worker);
      return worker;
    },
  };
}

// Tasks started on a server that runs none itself and run by `npm run worker` processes; the
// outcome is pushed to the socket on the server. Each test has its own server, workers and prefix.
// On one Redis and on a Redis Cluster.
for (const backend of await redisBackends()) {
  describe(`tasks across processes (BullMQ, ${backend.name})`, () => {
    test('a task started over HTTP on the server waits for a worker, runs there, and its result is pushed to a socket on the server', async (t) => {
      const { server, spawnWorker } = await taskCluster(t, backend);
      const { status, body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 'from A' } });
      assert.equal(status, 202);
      const client = await TestClient.open(`${server.wsUrl}/ws/task:${body.id}`);
      // No process runs tasks yet: it stays queued.
      assert.equal(await stateOf(server, body.id), 'queued');
      assert.equal(await client.silentFor(300), true);
      await spawnWorker();
      assert.deepEqual(await client.nextJson(15_000), { type: 'completed', id: body.id, result: 'from A' });
      assert.equal(await stateOf(server, body.id), 'completed');
      await client.close();
    });

    test('/async_task/ on the server gets the result of the task the worker ran', async (t) => {
      const { server, spawnWorker } = await taskCluster(t, backend);
      await spawnWorker();
      const client = await TestClient.open(`${server.wsUrl}/async_task/`);
      client.send('{"task_id": 11}');
      assert.deepEqual(await client.nextJson(), { msg: '任务11正在执行。。。', flag: true });
      assert.deepEqual(await client.nextJson(15_000), { msg: 'success', flag: true, data: { result: 11 } });
      assert.equal((await client.closed).code, 1000);
    });

    test('a worker killed mid-task: another worker picks the task up and its result still reaches the socket', async (t) => {
      const { server, spawnWorker } = await taskCluster(t, backend);
      const first = await spawnWorker();
      const { body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 8 } });
      const client = await TestClient.open(`${server.wsUrl}/ws/task:${body.id}`);
      await runningFor(server, body.id, 1);
      await first.stop('SIGKILL');
      await spawnWorker();
      assert.deepEqual(await client.nextJson(20_000), { type: 'completed', id: body.id, result: 8 });
      const status = await statusOf(server, body.id);
      assert.equal(status.state, 'completed');
      assert.equal(status.runs, 2, 'it ran again on the second worker');
      await client.close();
    });

    test('a task whose worker is killed twice is failed, and the failure is pushed to the socket', async (t) => {
      const { server, spawnWorker } = await taskCluster(t, backend);
      let worker = await spawnWorker();
      const { body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 'doomed' } });
      const client = await TestClient.open(`${server.wsUrl}/ws/task:${body.id}`);
      for (let death = 0; death < 2; death++) {
        // One worker at a time, so the task (re)starts on that one: kill it there and start a fresh one.
        await runningFor(server, body.id, death + 1);
        await worker.stop('SIGKILL');
        worker = await spawnWorker();
      }
      const failed = (await client.nextJson(20_000)) as { type: string; id: string; reason: string };
      assert.equal(failed.type, 'failed');
      assert.equal(failed.id, body.id);
      assert.match(failed.reason, /stalled/);
      assert.equal(await stateOf(server, body.id), 'failed');
      await client.close();
    });
  });
}

test('the worker command refuses to start without Redis, with a clear message', async () => {
  await assert.rejects(spawnWorker({ REDIS_URL: '' }), /worker exited with 2:[\s\S]*needs REDIS_URL/);
});
