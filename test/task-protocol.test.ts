import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Herald, HeraldClientError, type TaskEvent } from '../client/node.ts';
import { startHerald, waitFor, type RunningHerald } from './support/servers.ts';
import { asUser, protocolTestOptions } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { installTaskTestApp } from './support/task-app.ts';

// The `task` op frame by frame and the SDK's startTask / watchTask, on one process (in-process
// task runner, embedded broker). Across processes with BullMQ: task-protocol-cluster.test.ts.
describe('tasks over /connect', () => {
  let server: RunningHerald;
  const sdks: Herald[] = [];
  before(async () => {
    server = await startHerald(protocolTestOptions, installTaskTestApp);
  });
  after(async () => {
    for (const sdk of sdks) sdk.close();
    await server.close();
  });
  const open = (query = ''): Promise<ProtocolClient> => ProtocolClient.open(`${server.wsUrl}/connect${query}`);
  const sdk = (): Herald => {
    const client = new Herald(`${server.wsUrl}/connect`, { minReconnectDelayMs: 50, maxReconnectDelayMs: 300 });
    sdks.push(client);
    return client.connect();
  };

  test('the task op answers with the task id and its channel, then pushes progress and the result on it', async () => {
    const client = await open();
    const reply = await client.request({ op: 'task', name: 'gated', args: 'x' });
    const { task, epoch } = reply.result;
    assert.match(task, /^[0-9a-f-]{36}$/);
    const channel = `task:${task}`;
    assert.deepEqual(reply, { type: 'reply', id: 1, result: { task, channel, recoverable: true, offset: 0, epoch } });
    assert.deepEqual(await client.push(), { type: 'pub', channel, offset: 1, epoch, data: { type: 'progress', id: task, progress: 1 } });
    assert.deepEqual(await client.push(), { type: 'pub', channel, offset: 2, epoch, data: { type: 'progress', id: task, progress: 2 } });
    assert.deepEqual(await client.push(), { type: 'pub', channel, offset: 3, epoch, data: { type: 'completed', id: task, result: { done: 'x' } } });
    // An ordinary subscription: unsubscribing it works like any other.
    assert.deepEqual(await client.request({ op: 'unsubscribe', channel }), { type: 'reply', id: 2, result: { channel } });
    await client.close();
  });

  test('the taskStatus op answers the stored status, TASK_NOT_FOUND for an unknown id, BAD_REQUEST for a bad one', async () => {
    const client = await open();
    const { result } = await client.request({ op: 'task', name: 'gated', args: 's' });
    const id = result.task as string;
    await client.push(); // progress 1
    await client.push(); // progress 2
    await client.push(); // completed
    assert.deepEqual(await client.request({ op: 'taskStatus', task: id }), {
      type: 'reply',
      id: 2,
      result: { id, name: 'gated', state: 'completed', runs: 1, progress: 2, result: { done: 's' } },
    });
    assert.deepEqual(await client.request({ op: 'taskStatus', task: 'no-such-task' }), {
      type: 'reply',
      id: 3,
      error: { code: 'HERALD_ERR_TASK_NOT_FOUND', message: 'No task with id "no-such-task"' },
    });
    for (const task of [undefined, 42, '123', 'a:b']) {
      assert.deepEqual((await client.request({ op: 'taskStatus', task })).error, {
        code: 'HERALD_ERR_BAD_REQUEST',
        message: '"task" must be a task id: 1-100 letters, digits, _ or -, not all digits',
      });
    }
    await client.close();
  });

  test('a failing task pushes "failed" with its reason', async () => {
    const client = await open();
    const { result } = await client.request({ op: 'task', name: 'boom', args: { n: 1 } });
    assert.deepEqual((await client.push()).data, { type: 'failed', id: result.task, reason: 'boom: {"n":1}' });
    await client.close();
  });

  test('unknown names, server-only tasks and bad frames get typed error replies; the socket stays usable', async () => {
    const client = await open();
    assert.deepEqual(await client.request({ op: 'task', name: 'nope' }), {
      type: 'reply',
      id: 1,
      error: { code: 'HERALD_ERR_UNKNOWN_TASK', message: 'No task named "nope" that clients may start' },
    });
    // A task registered without `clients` is indistinguishable from an unknown one.
    assert.deepEqual((await client.request({ op: 'task', name: 'internal' })).error, { code: 'HERALD_ERR_UNKNOWN_TASK', message: 'No task named "internal" that clients may start' });
    assert.deepEqual((await client.request({ op: 'task', name: 'members' })).error, { code: 'HERALD_ERR_IDENTITY_REQUIRED', message: 'Task "members" needs an authenticated user' });
    assert.deepEqual((await client.request({ op: 'task' })).error, { code: 'HERALD_ERR_BAD_REQUEST', message: '"name" must be a task name (a string of 1-100 characters)' });
    assert.deepEqual((await client.request({ op: 'task', name: 42 })).error.code, 'HERALD_ERR_BAD_REQUEST');
    assert.deepEqual(await client.request({ op: 'ping' }), { type: 'reply', id: 6, result: {} });
    assert.equal(await client.silentFor(200), true, 'no task ran, so nothing was pushed');
    await client.close();
  });

  test('an "authenticated" task starts for a signed-in user', async () => {
    const client = await open(await asUser('alice'));
    const { result } = await client.request({ op: 'task', name: 'members' });
    assert.deepEqual((await client.push()).data, { type: 'completed', id: result.task, result: 'ok' });
    await client.close();
  });

  test('clients cannot forge events on a task channel', async () => {
    const client = await open();
    assert.deepEqual((await client.request({ op: 'publish', channel: 'task:forged', data: { type: 'completed' } })).error, {
      code: 'HERALD_ERR_PERMISSION_DENIED',
      message: 'Not allowed to publish to task:forged',
    });
    await client.close();
  });

  test('SDK: startTask hands each event to the handler once, in order, and ends the subscription after the outcome', async () => {
    const client = sdk();
    const events: TaskEvent[] = [];
    const { id, subscription } = await client.startTask('gated', 7, (event) => events.push(event));
    assert.equal(subscription.channel, `task:${id}`);
    await waitFor(() => events.length === 3, 5000, 'the task events');
    assert.deepEqual(events, [
      { type: 'progress', id, progress: 1 },
      { type: 'progress', id, progress: 2 },
      { type: 'completed', id, result: { done: 7 } },
    ]);
    assert.equal(subscription.state, 'unsubscribed');
    assert.equal(client.subscription(`task:${id}`), undefined);

    // Another client, after the task finished: the channel's history still has every event.
    const late: TaskEvent[] = [];
    assert.equal(await sdk().watchTask(id, (event) => late.push(event)), undefined, 'nothing left to follow');
    assert.deepEqual(late, events);
  });

  test('SDK: the default app\'s example task is open to clients', async () => {
    const events: TaskEvent[] = [];
    const { id } = await sdk().startTask('example', { value: 5, reportProgress: true }, (event) => events.push(event));
    await waitFor(() => events.at(-1)?.type === 'completed', 10_000, 'the example task');
    assert.deepEqual(events.map((event) => (event.type === 'progress' ? event.progress : event)), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, { type: 'completed', id, result: 5 }]);
  });

  test('SDK: a refused start rejects with the typed error; a failure arrives as the "failed" event', async () => {
    const client = sdk();
    await assert.rejects(client.startTask('internal', null, () => {}), (error: unknown) => error instanceof HeraldClientError && error.code === 'HERALD_ERR_UNKNOWN_TASK');
    const events: TaskEvent[] = [];
    const { id } = await client.startTask('boom', 'x', (event) => events.push(event));
    await waitFor(() => events.length === 1, 5000, 'the failure');
    assert.deepEqual(events, [{ type: 'failed', id, reason: 'boom: "x"' }]);
  });
});
