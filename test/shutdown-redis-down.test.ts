import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PrivateRedis } from './support/redis-server.ts';
import { postJson, spawnHerald, uniquePrefix, waitFor } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Regression: once the BullMQ task runner had run a task, herald.close() waited forever for Redis
// when Redis was down (the worker's blocking connection retries without end), so SIGTERM never
// finished and only the CLI's fallback timer (exit 1) ended the process.
describe('shutdown while Redis is down', () => {
  let redis: PrivateRedis | undefined;
  after(() => redis?.kill());

  test('a server whose task runner has run a task exits 0 on SIGTERM within the shutdown timeout after Redis died', async () => {
    redis = await PrivateRedis.start();
    const server = await spawnHerald({
      REDIS_URL: redis.url,
      HERALD_REDIS_PREFIX: uniquePrefix(),
      HERALD_EXAMPLE_TASK_DELAY_MS: '50',
      HERALD_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    const { status, body } = await postJson(`${server.url}/api/tasks`, { name: 'example', args: { value: 'ran' } });
    assert.equal(status, 202);
    await waitFor(async () => ((await (await fetch(`${server.url}/api/tasks/${body.id}`)).json()) as { state: string }).state === 'completed', 10_000, 'the task to complete');
    const client = await TestClient.open(`${server.wsUrl}/echo`);
    await redis.kill();
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, 10_000, 'the server to notice Redis is gone');
    const started = Date.now();
    const exitCode = await server.stop('SIGTERM');
    const elapsed = Date.now() - started;
    assert.deepEqual(await client.closed, { code: 1001, reason: 'server shutting down' });
    // 0: close() finished by itself; the CLI's fallback timer (shutdown timeout + 2 s) exits 1.
    assert.equal(exitCode, 0, server.output().slice(-2000));
    assert.ok(elapsed < 2000 + 1500, `exited after ${elapsed} ms`);
  });
});
