import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { Herald, type TaskEvent } from '../client/node.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { REDIS_URL, postJson, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { gateKey } from './support/task-app.ts';
import { spawnWorker, type WorkerProcess } from './support/workers.ts';
import { TestClient } from './support/ws-client.ts';

/** How often the server and the SDK check the stored status of a task whose outcome is overdue. */
const CHECK_MS = 500;

interface Cluster {
  server: HeraldProcess;
  worker: WorkerProcess;
  redis: Redis;
  prefix: string;
  sdk(): Herald;
}

/**
 * A server that runs no tasks and a worker that holds every outcome it is about to publish
 * (HERALD_TEST_HOLD_OUTCOMES: after BullMQ recorded it, before the push) until SIGUSR2.
 */
async function startCluster(t: TestContext, redisUrl: string): Promise<Cluster> {
  const prefix = uniquePrefix();
  const env = {
    ...protocolTestEnv,
    REDIS_URL: redisUrl,
    HERALD_REDIS_PREFIX: prefix,
    HERALD_TASK_STALL_MS: '1000',
    HERALD_TASK_OUTCOME_CHECK_MS: String(CHECK_MS),
    HERALD_EXAMPLE_TASK_DELAY_MS: '100',
  };
  const [server, worker] = await Promise.all([
    spawnHerald({ ...env, HERALD_TASK_WORKERS: '0' }, 'test/support/task-server.ts'),
    spawnWorker({ ...env, HERALD_TEST_HOLD_OUTCOMES: '1' }, 'test/support/task-worker.ts'),
  ]);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', () => {});
  const sdks: Herald[] = [];
  t.after(async () => {
    for (const sdk of sdks) sdk.close();
    redis.disconnect();
    await Promise.all([server.stop('SIGKILL'), worker.stop('SIGKILL')]);
  });
  const sdk = (): Herald => {
    const client = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
    sdks.push(client);
    return client.connect();
  };
  return { server, worker, redis, prefix, sdk };
}

async function stateOf(server: HeraldProcess, id: string): Promise<string> {
  return ((await (await fetch(`${server.url}/api/tasks/${id}`)).json()) as { state: string }).state;
}

/**
 * Four followers, each on its own task, and each task's outcome recorded by the worker but held
 * before its push; then `disrupt` (kill the worker, or stop Redis); then every follower must get
 * its outcome, once:
 * - a raw socket subscribed by `tasks.start(…, { subscribe })` (the test app's /start/gated),
 * - an SDK `startTask` (the /connect `task` op),
 * - an SDK `watchTask` of a task started over HTTP, which no server follows,
 * - an `/async_task/` socket (`tasks.run`).
 */
async function outcomesReachEveryFollower(cluster: Cluster, disrupt: (held: string[]) => Promise<void>): Promise<void> {
  const { server, worker, redis, prefix } = cluster;

  const raw = await TestClient.open(`${server.wsUrl}/start/gated`);
  raw.send('"raw"');
  const rawFrames = (await raw.take(2, 15_000)).map((text) => JSON.parse(text) as Record<string, unknown>);
  const rawTask = rawFrames.find((frame) => 'started' in frame)?.started as string;
  assert.deepEqual(rawFrames.filter((frame) => !('started' in frame)), [{ type: 'progress', id: rawTask, progress: 1 }]);

  const starter = cluster.sdk();
  const started: TaskEvent[] = [];
  const { id: startedTask } = await starter.startTask('gated', 'sdk', (event) => started.push(event), { statusCheckMs: CHECK_MS });

  const { body } = await postJson(`${server.url}/api/tasks`, { name: 'gated', args: 'http' });
  const watchedTask = body.id as string;
  const watcher = cluster.sdk();
  await waitFor(async () => (await watcher.history(`task:${watchedTask}`)).publications.length === 1, 15_000, 'the watched task to run');
  const watched: TaskEvent[] = [];
  const subscription = await watcher.watchTask(watchedTask, (event) => watched.push(event), { statusCheckMs: CHECK_MS });
  assert.ok(subscription !== undefined);
  await subscription.ready;

  const asyncSocket = await TestClient.open(`${server.wsUrl}/async_task/`);
  asyncSocket.send('{"task_id": 5}');
  assert.deepEqual(await asyncSocket.nextJson(), { msg: '任务5正在执行。。。', flag: true });

  await waitFor(() => started.length === 1, 15_000, 'the started task to run');
  for (const id of [rawTask, startedTask, watchedTask]) await redis.set(gateKey(prefix, id), '1', 'EX', 60);
  // Four outcomes recorded by BullMQ and held before their push.
  const held = (): string[] => [...worker.output().matchAll(/outcome held (\S+)/g)].map((match) => match[1]!);
  await waitFor(() => held().length === 4, 15_000, 'four outcomes held by the worker');
  for (const id of [rawTask, startedTask, watchedTask]) {
    assert.ok(held().includes(id));
    assert.equal(await stateOf(server, id), 'completed', 'BullMQ recorded the outcome before the push');
  }

  await disrupt(held());

  assert.deepEqual(await raw.take(2, 20_000), [
    JSON.stringify({ type: 'progress', id: rawTask, progress: 2 }),
    JSON.stringify({ type: 'completed', id: rawTask, result: { done: 'raw' } }),
  ]);
  assert.deepEqual(await asyncSocket.nextJson(20_000), { msg: 'success', flag: true, data: { result: 5 } });
  assert.equal((await asyncSocket.closed).code, 1000);
  await waitFor(() => started.length === 3 && watched.length === 3, 20_000, 'the SDK followers to get the outcome');
  for (const [events, id, args] of [[started, startedTask, 'sdk'], [watched, watchedTask, 'http']] as const) {
    assert.deepEqual(events, [
      { type: 'progress', id, progress: 1 },
      { type: 'progress', id, progress: 2 },
      { type: 'completed', id, result: { done: args } },
    ]);
  }
  assert.equal(subscription.state, 'unsubscribed', 'watchTask ends its subscription after the outcome');

  // Once: nothing more arrives over several checks, and no channel holds the outcome twice.
  assert.equal(await raw.silentFor(3 * CHECK_MS), true);
  assert.equal(started.length + watched.length, 6);
  const reader = cluster.sdk();
  for (const id of [rawTask, startedTask, watchedTask]) {
    const kept = await reader.history(`task:${id}`);
    const outcomes = kept.publications.filter((entry) => (entry.data as { type: string }).type === 'completed');
    // The watched task is followed by no server: its outcome is in its channel only if the worker could push it.
    assert.ok(outcomes.length <= 1, `task ${id} published its outcome ${outcomes.length} times`);
    if (id !== watchedTask) assert.equal(outcomes.length, 1, `task ${id}'s outcome was published once`);
  }
  await raw.close();
}

describe('task outcomes reach every follower', () => {
  test('the worker is killed after BullMQ recorded the outcomes and before it pushed them', async (t) => {
    const cluster = await startCluster(t, REDIS_URL);
    await outcomesReachEveryFollower(cluster, async () => {
      await cluster.worker.stop('SIGKILL');
    });
  });

  test('Redis stops after BullMQ recorded the outcomes and before the worker pushed them, then comes back', async (t) => {
    const privateRedis = await PrivateRedis.start({ persistent: true });
    t.after(() => privateRedis.remove());
    const cluster = await startCluster(t, privateRedis.url);
    await outcomesReachEveryFollower(cluster, async (held) => {
      await privateRedis.stop();
      await waitFor(async () => (await fetch(`${cluster.server.url}/readyz`)).status === 503, 10_000, 'the server to notice Redis is gone');
      // Let the worker push: each held outcome's publish fails against the stopped Redis.
      cluster.worker.child.kill('SIGUSR2');
      const failed = (): Set<string> => new Set([...cluster.worker.output().matchAll(/outcome publish failed (\S+)/g)].map((match) => match[1]!));
      await waitFor(() => held.every((id) => failed().has(id)), 10_000, 'every held push to fail');
      await privateRedis.restart();
    });
  });

  test('watchTask of a finished task whose channel history expired resolves with the stored outcome; an unknown task is refused', async (t) => {
    const prefix = uniquePrefix();
    const server = await spawnHerald({ ...protocolTestEnv, REDIS_URL, HERALD_REDIS_PREFIX: prefix, HERALD_TASK_WORKERS: '1' }, 'test/support/task-server.ts');
    const redis = new Redis(REDIS_URL);
    const client = new Herald(`${server.wsUrl}/connect`).connect();
    t.after(async () => {
      client.close();
      redis.disconnect();
      await server.stop('SIGKILL');
    });
    const { body } = await postJson(`${server.url}/api/tasks`, { name: 'boom', args: 'late' });
    const id = body.id as string;
    await waitFor(async () => (await stateOf(server, id)) === 'failed', 15_000, 'the task to fail');
    // The channel's publications expire an hour after the last one: remove them as that expiry would.
    assert.equal(await redis.del(`${prefix}history:task:${id}`), 1);
    assert.deepEqual((await client.history(`task:${id}`)).publications, []);

    const events: TaskEvent[] = [];
    assert.equal(await client.watchTask(id, (event) => events.push(event)), undefined);
    assert.deepEqual(events, [{ type: 'failed', id, reason: 'boom: "late"' }]);
    assert.equal(client.subscription(`task:${id}`), undefined, 'nothing left subscribed');

    await assert.rejects(client.watchTask('no-such-task', () => assert.fail('no event for an unknown task')), {
      code: 'HERALD_ERR_TASK_NOT_FOUND',
      message: 'No task with id "no-such-task"',
    });
    assert.equal(client.subscription('task:no-such-task'), undefined);
  });
});
