import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, type SubscribedEvent, type TaskEvent } from '../client/node.ts';
import { protocolTestEnv } from './support/protocol-app.ts';
import { REDIS_URL, redisClient, spawnHerald, uniquePrefix, waitFor, type HeraldProcess } from './support/servers.ts';
import { gateKey } from './support/task-app.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { hs256Token } from './support/tokens.ts';
import { spawnWorker, type WorkerProcess } from './support/workers.ts';

// Tasks started with the SDK over /connect on process A, which runs none itself
// (HERALD_TASK_WORKERS=0), and run by a worker process B through BullMQ in the real Redis.
describe('tasks over /connect across processes (BullMQ)', () => {
  const prefix = uniquePrefix();
  const env = { ...protocolTestEnv, REDIS_URL, HERALD_REDIS_PREFIX: prefix };
  const redis = redisClient();
  let server: HeraldProcess;
  let worker: WorkerProcess;
  let proxy: TcpProxy;
  const sdks: Herald[] = [];
  before(async () => {
    [server, worker] = await Promise.all([
      spawnHerald({ ...env, HERALD_TASK_WORKERS: '0' }, 'test/support/task-server.ts'),
      spawnWorker(env, 'test/support/task-worker.ts'),
    ]);
    proxy = await TcpProxy.start(Number(new URL(server.url).port));
  });
  after(async () => {
    for (const sdk of sdks) sdk.close();
    await proxy.close();
    await Promise.all([server.stop('SIGKILL'), worker.stop('SIGKILL')]);
    redis.disconnect();
  });
  const sdk = (options: ConstructorParameters<typeof Herald>[1] = {}): Herald => {
    const client = new Herald(`ws://127.0.0.1:${proxy.port}/connect`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300, ...options });
    sdks.push(client);
    return client.connect();
  };
  const stateOf = async (id: string): Promise<string> => ((await (await fetch(`${server.url}/api/tasks/${id}`)).json()) as { state: string }).state;

  test('started on A, run on B: progress and the result reach the SDK on A; a reconnect mid-task recovers what it missed', async () => {
    // The token function holds the reconnect back while the task goes on without the client.
    let hold: Promise<void> = Promise.resolve();
    let release = (): void => {};
    const client = sdk({
      token: async () => {
        await hold;
        return hs256Token('alice');
      },
    });
    const events: TaskEvent[] = [];
    const { id, subscription } = await client.startTask('gated', 'from A', (event) => events.push(event));
    await waitFor(() => events.length === 1, 15_000, 'the first progress');
    assert.deepEqual(events, [{ type: 'progress', id, progress: 1 }]);

    hold = new Promise((resolve) => (release = resolve));
    const resubscribed = new Promise<SubscribedEvent>((resolve) => subscription.on('subscribed', resolve));
    proxy.cut();
    await waitFor(() => client.state !== 'connected', 5000, 'the client to notice the cut');
    await redis.set(gateKey(prefix, id), '1', 'EX', 60);
    await waitFor(async () => (await stateOf(id)) === 'completed', 15_000, 'the task to finish on B');
    assert.equal(events.length, 1, 'nothing reached the client while it was disconnected');
    release();

    assert.deepEqual(await resubscribed, { recovered: true, resubscribed: true, recoverable: true });
    await waitFor(() => events.length === 3, 10_000, 'the recovered events');
    assert.deepEqual(events, [
      { type: 'progress', id, progress: 1 },
      { type: 'progress', id, progress: 2 },
      { type: 'completed', id, result: { done: 'from A' } },
    ]);
    assert.equal(subscription.state, 'unsubscribed');

    // A client that looks at the task only after it finished gets the latest progress and the result.
    const late: TaskEvent[] = [];
    assert.equal(await sdk().watchTask(id, (event) => late.push(event)), undefined);
    assert.deepEqual(late, events);
  });

  test('a reconnect that cannot recover the task channel (its history lost) still hands over the outcome, read from the stored status', async () => {
    let hold: Promise<void> = Promise.resolve();
    let release = (): void => {};
    const client = sdk({
      token: async () => {
        await hold;
        return hs256Token('alice');
      },
    });
    const events: TaskEvent[] = [];
    // statusCheckMs 0: the status is read only after an unrecovered resubscription, the path under test.
    const { id, subscription } = await client.startTask('gated', 'lost', (event) => events.push(event), { statusCheckMs: 0 });
    await waitFor(() => events.length === 1, 15_000, 'the first progress');
    hold = new Promise((resolve) => (release = resolve));
    const resubscribed = new Promise<SubscribedEvent>((resolve) => subscription.on('subscribed', resolve));
    proxy.cut();
    await waitFor(() => client.state !== 'connected', 5000, 'the client to notice the cut');
    await redis.set(gateKey(prefix, id), '1', 'EX', 60);
    await waitFor(async () => (await stateOf(id)) === 'completed', 15_000, 'the task to finish on B');
    // What the client missed is gone from history, as if it had expired.
    assert.equal(await redis.del(`${prefix}history:task:${id}`), 1);
    release();

    assert.deepEqual(await resubscribed, { recovered: false, resubscribed: true, recoverable: true });
    await waitFor(() => events.length === 2, 10_000, 'the outcome');
    assert.deepEqual(events, [
      { type: 'progress', id, progress: 1 },
      { type: 'completed', id, result: { done: 'lost' } },
    ]);
    assert.equal(subscription.state, 'unsubscribed');
  });

  test('a client that starts watching mid-task gets the progress so far, then the rest live', async () => {
    const starter = sdk();
    const { id } = await starter.startTask('gated', 'watched', () => {});
    await waitFor(async () => (await stateOf(id)) === 'running', 15_000, 'the task to run');
    const watcher = sdk();
    const events: TaskEvent[] = [];
    // The first progress is published right after the task starts running: wait until it is kept.
    await waitFor(async () => (await watcher.history(`task:${id}`)).publications.length === 1, 10_000, 'the first progress in history');
    const subscription = await watcher.watchTask(id, (event) => events.push(event));
    assert.ok(subscription !== undefined);
    assert.deepEqual(events, [{ type: 'progress', id, progress: 1 }]);
    await subscription.ready;
    await redis.set(gateKey(prefix, id), '1', 'EX', 60);
    await waitFor(() => events.length === 3, 15_000, 'the rest of the events');
    assert.deepEqual(events.slice(1), [
      { type: 'progress', id, progress: 2 },
      { type: 'completed', id, result: { done: 'watched' } },
    ]);
  });

  test('a task failing on B is reported to the SDK on A with its reason; an unknown name is refused', async () => {
    const client = sdk();
    const events: TaskEvent[] = [];
    const { id } = await client.startTask('boom', [1, 2], (event) => events.push(event));
    await waitFor(() => events.length === 1, 15_000, 'the failure');
    assert.deepEqual(events, [{ type: 'failed', id, reason: 'boom: [1,2]' }]);
    await assert.rejects(client.startTask('no-such-task', null, () => {}), { code: 'HERALD_ERR_UNKNOWN_TASK', message: 'No task named "no-such-task" that clients may start' });
  });
});
