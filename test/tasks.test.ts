import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { HeraldOptions } from '../src/config.ts';
import { HeraldError } from '../src/errors.ts';
import type { Herald } from '../src/herald.ts';
import { REDIS_URL, postJson, startHerald, uniquePrefix, waitFor, type RunningHerald } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

/** The test app: a few tasks, and a socket route that starts a task through the public API. */
function install(herald: Herald): void {
  herald.task('double', async ({ n }: { n: number }, ctx) => {
    await ctx.progress(50);
    await ctx.progress({ step: 'almost' });
    return n * 2;
  });
  herald.task('explode', async () => {
    throw new Error('the reactor is offline');
  });
  herald.task(
    'sleepy',
    (_args, ctx) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 10_000);
        ctx.signal.addEventListener('abort', () => clearTimeout(timer));
      }),
    { timeoutMs: 300 },
  );
  herald.task('nothing', async () => undefined);
  herald.socket('/start/:name', (socket) => {
    socket.onMessage(async (args) => {
      const { id } = await herald.tasks.start(socket.params.name!, JSON.parse(args), { subscribe: socket });
      socket.send({ started: id });
    });
  });
}

async function getStatus(server: RunningHerald, id: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/api/tasks/${id}`);
  return { status: response.status, body: await response.json() };
}

// One suite, run against both runners: in-process (no Redis) and BullMQ with workers in the server.
for (const runner of ['in-process', 'bullmq'] as const) {
  describe(`tasks (${runner} runner)`, () => {
    let server: RunningHerald;
    before(async () => {
      const options: HeraldOptions = runner === 'bullmq' ? { redisUrl: REDIS_URL, redisPrefix: uniquePrefix(), taskStallMs: 1000 } : {};
      server = await startHerald(options, install);
      assert.equal(server.herald.tasks.runner, runner);
    });
    after(() => server.close());

    test('the starting socket is pushed every progress event and the result, then GET reports it completed', async () => {
      const client = await TestClient.open(`${server.wsUrl}/start/double`);
      client.send({ n: 21 });
      // The route's own {"started"} reply may come before or among the task's events.
      const frames = (await client.take(4)).map((text) => JSON.parse(text) as Record<string, unknown>);
      const id = frames.find((frame) => 'started' in frame)?.started as string;
      assert.match(id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(
        frames.filter((frame) => !('started' in frame)),
        [
          { type: 'progress', id, progress: 50 },
          { type: 'progress', id, progress: { step: 'almost' } },
          { type: 'completed', id, result: 42 },
        ],
      );
      assert.deepEqual(await getStatus(server, id), {
        status: 200,
        body: { id, name: 'double', state: 'completed', runs: 1, progress: { step: 'almost' }, result: 42 },
      });
      await client.close();
    });

    test('a task that throws is reported failed with its message, on the socket and by GET', async () => {
      const client = await TestClient.open(`${server.wsUrl}/start/explode`);
      client.send({});
      const { started: id } = (await client.nextJson()) as { started: string };
      assert.deepEqual(await client.nextJson(), { type: 'failed', id, reason: 'the reactor is offline' });
      const { status, body } = await getStatus(server, id);
      assert.equal(status, 200);
      assert.equal(body.state, 'failed');
      assert.equal(body.reason, 'the reactor is offline');
      await client.close();
    });

    test('a task that exceeds its timeout is reported failed as timed out', async () => {
      const client = await TestClient.open(`${server.wsUrl}/start/sleepy`);
      client.send({});
      const { started: id } = (await client.nextJson()) as { started: string };
      assert.deepEqual(await client.nextJson(), { type: 'failed', id, reason: 'Task sleepy timed out after 300 ms' });
      assert.equal((await getStatus(server, id)).body.state, 'failed');
      await client.close();
    });

    test('tasks.run resolves with the result, or rejects with HERALD_ERR_TASK_FAILED and the reason', async () => {
      assert.equal(await server.herald.tasks.run('double', { n: 4 }), 8);
      assert.equal(await server.herald.tasks.run('nothing'), null);
      await assert.rejects(server.herald.tasks.run('explode'), (error: unknown) => {
        assert.ok(error instanceof HeraldError);
        assert.equal(error.code, 'HERALD_ERR_TASK_FAILED');
        assert.equal(error.message, 'the reactor is offline');
        return true;
      });
    });

    test('POST /api/tasks answers 202 with an id, and the task completes', async () => {
      const { status, body } = await postJson(`${server.url}/api/tasks`, { name: 'double', args: { n: 5 } });
      assert.equal(status, 202);
      assert.deepEqual(Object.keys(body), ['id']);
      await waitFor(async () => (await getStatus(server, body.id)).body.state === 'completed', 10_000, 'task completed');
      assert.equal((await getStatus(server, body.id)).body.result, 10);
    });

    test('HTTP refuses unknown tasks, malformed bodies and unknown ids with a typed error', async () => {
      assert.deepEqual(await postJson(`${server.url}/api/tasks`, { name: 'nope' }), {
        status: 400,
        body: { ok: false, error: { code: 'HERALD_ERR_UNKNOWN_TASK', message: 'No task named "nope"' } },
      });
      const noName = await postJson(`${server.url}/api/tasks`, { args: 1 });
      assert.equal(noName.status, 400);
      assert.equal(noName.body.error.code, 'HERALD_ERR_BAD_REQUEST');
      const notJson = await postJson(`${server.url}/api/tasks`, '{"name":');
      assert.equal(notJson.status, 400);
      // Parsed at any depth, but too deep to encode again: the caller's input, answered as such.
      const deep = await postJson(`${server.url}/api/tasks`, `{"name":"double","args":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
      assert.deepEqual(deep, {
        status: 400,
        body: { ok: false, error: { code: 'HERALD_ERR_BAD_REQUEST', message: 'Task arguments cannot be encoded as JSON (nested too deeply?)' } },
      });
      for (const id of ['0f8c1b8e-0000-4000-8000-000000000000', '123', 'bad%20id']) {
        const { status, body } = await getStatus(server, id);
        assert.equal(status, 404, id);
        assert.equal(body.error.code, 'HERALD_ERR_TASK_NOT_FOUND');
      }
    });

    test('a socket that starts an unknown task gets an error frame and stays open', async () => {
      const client = await TestClient.open(`${server.wsUrl}/start/nope`);
      client.send({});
      assert.deepEqual(await client.nextJson(), { type: 'error', code: 'HERALD_ERR_UNKNOWN_TASK', message: 'No task named "nope"' });
      assert.equal(client.ws.readyState, client.ws.OPEN);
      await client.close();
    });

    test('a chosen id is used for the channel and GET; a malformed id is refused', async () => {
      const id = `chosen-${runner}-${Date.now()}`;
      assert.deepEqual(await server.herald.tasks.start('double', { n: 1 }, { id }), { id });
      await waitFor(async () => (await getStatus(server, id)).body.state === 'completed', 10_000, 'chosen id completed');
      await assert.rejects(server.herald.tasks.start('double', { n: 1 }, { id: '42' }), /not all digits/);
      await assert.rejects(server.herald.tasks.start('double', { n: 1 }, { id: 'a:b' }), /letters, digits/);
    });
  });
}
