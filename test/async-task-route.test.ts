import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { installDefaultApp } from '../src/app/default-app.ts';
import { startHerald, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

/** Opens /async_task/, sends `frame`, and returns every reply and the close. */
async function exchange(server: RunningHerald, frame: string): Promise<{ replies: unknown[]; code: number }> {
  const client = await TestClient.open(`${server.wsUrl}/async_task/`);
  client.send(frame);
  const replies: unknown[] = [];
  for (;;) {
    try {
      replies.push(await client.nextJson(10_000));
    } catch {
      break;
    }
  }
  return { replies, code: (await client.closed).code };
}

// Seed 004's socket, byte for byte its replies (as JSON objects), on the in-process task runner.
// tasks-cluster.test.ts runs it with the task in a separate worker process.
describe('seed 004: /async_task/', () => {
  let server: RunningHerald;
  let failing: RunningHerald;
  before(async () => {
    server = await startHerald({}, (herald) => installDefaultApp(herald, { exampleTaskDelayMs: 300 }));
    failing = await startHerald({}, (herald) => installDefaultApp(herald, { exampleTaskDelayMs: 2000, exampleTaskTimeoutMs: 200 }));
  });
  after(() => Promise.all([server.close(), failing.close()]));

  test('{"task_id": N} answers that task N runs, then its result N, then closes normally', async () => {
    assert.deepEqual(await exchange(server, '{"task_id": 7}'), {
      replies: [
        { msg: '任务7正在执行。。。', flag: true },
        { msg: 'success', flag: true, data: { result: 7 } },
      ],
      code: 1000,
    });
    assert.deepEqual((await exchange(server, '{"task_id": "abc"}')).replies, [
      { msg: '任务abc正在执行。。。', flag: true },
      { msg: 'success', flag: true, data: { result: 'abc' } },
    ]);
  });

  test('the started reply is sent at once, the result only after the task ran', async () => {
    const client = await TestClient.open(`${server.wsUrl}/async_task/`);
    client.send('{"task_id": 3}');
    assert.deepEqual(await client.nextJson(), { msg: '任务3正在执行。。。', flag: true });
    assert.equal(await client.silentFor(150), true);
    assert.deepEqual(await client.nextJson(), { msg: 'success', flag: true, data: { result: 3 } });
    await client.close();
  });

  test('a frame that is not JSON, or JSON that is not an object, answers 参数格式有误', async () => {
    for (const frame of ['not json', '{"task_id": 1', '[1, 2]', '42', '"text"', 'null']) {
      assert.deepEqual(await exchange(server, frame), { replies: [{ msg: '参数格式有误', flag: false }], code: 1000 }, frame);
    }
  });

  test('an object without a task_id (or a falsy one, as the seed checks) answers 缺少必要参数', async () => {
    for (const frame of ['{}', '{"id": 1}', '{"task_id": null}', '{"task_id": 0}', '{"task_id": ""}']) {
      assert.deepEqual(await exchange(server, frame), { replies: [{ msg: '缺少必要参数', flag: false }], code: 1000 }, frame);
    }
  });

  test('a failed task answers flag false with the reason', async () => {
    assert.deepEqual(await exchange(failing, '{"task_id": 9}'), {
      replies: [
        { msg: '任务9正在执行。。。', flag: true },
        { msg: 'failed', flag: false, data: { reason: 'Task example timed out after 200 ms' } },
      ],
      code: 1000,
    });
  });

  test('a second frame while the task runs is answered, not ignored', async () => {
    const client = await TestClient.open(`${server.wsUrl}/async_task/`);
    client.send('{"task_id": 4}');
    assert.deepEqual(await client.nextJson(), { msg: '任务4正在执行。。。', flag: true });
    client.send('{"task_id": 5}');
    assert.deepEqual(await client.nextJson(), { msg: '每个连接只执行一个任务', flag: false });
    assert.deepEqual(await client.nextJson(), { msg: 'success', flag: true, data: { result: 4 } });
    assert.equal((await client.closed).code, 1000);
  });
});
