import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errors } from '../src/errors.ts';
import { asUser, protocolTestEnv } from './support/protocol-app.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { spawnHerald, uniquePrefix, waitFor } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

// Needs a Redis it may kill: its own redis-server, never the shared one on 6379. The server runs
// as its own process and is killed at the end, so nothing waits for the dead Redis on shutdown.
test('while Redis is down, publish, history and subscribe answer HERALD_ERR_BROKER_UNAVAILABLE with retryAfterMs, the socket stays usable, and a new user connection closes 1013', async () => {
  const redis = await PrivateRedis.start();
  const server = await spawnHerald({ ...protocolTestEnv, REDIS_URL: redis.url, HERALD_REDIS_PREFIX: uniquePrefix() }, 'test/support/protocol-server.ts');
  try {
    const client = await ProtocolClient.open(`${server.wsUrl}/connect`);
    assert.equal((await client.request({ op: 'subscribe', channel: 'down' })).result.recoverable, true);
    await redis.kill();
    const down = async (): Promise<boolean> => {
      const { connections } = (await (await fetch(`${server.url}/readyz`)).json()) as { connections: Record<string, string> };
      return Object.values(connections).every((status) => status !== 'ready');
    };
    await waitFor(down, 10_000, 'both Redis connections to notice');
    const code = Errors.BROKER_UNAVAILABLE.code;
    // Each refusal carries the server's retry advice: the broker retries Redis at least every 2 s.
    const retryAfterMs = 2000;
    assert.deepEqual((await client.request({ op: 'publish', channel: 'down', data: 1 })).error, { code, message: `${Errors.BROKER_UNAVAILABLE.message}; nothing was published`, retryAfterMs });
    assert.deepEqual((await client.request({ op: 'history', channel: 'down' })).error, { code, message: Errors.BROKER_UNAVAILABLE.message, retryAfterMs });
    assert.deepEqual((await client.request({ op: 'subscribe', channel: 'down-too' })).error, { code, message: Errors.BROKER_UNAVAILABLE.message, retryAfterMs });
    assert.deepEqual((await client.request({ op: 'ping' })).result, {});
    await client.close();
    // A user's connection cannot set up its private channel: 1013, try again later.
    const user = new TestClient(`${server.wsUrl}/connect${await asUser('alice')}`);
    assert.deepEqual(await user.closed, { code: 1013, reason: Errors.BROKER_UNAVAILABLE.message });
  } finally {
    await server.stop('SIGKILL');
    await redis.kill();
  }
});
