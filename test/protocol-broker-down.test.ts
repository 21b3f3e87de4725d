import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errors } from '../src/errors.ts';
import { ProtocolClient } from './support/protocol-client.ts';
import { installProtocolTestApp } from './support/protocol-app.ts';
import { PrivateRedis } from './support/redis-server.ts';
import { startHerald, uniquePrefix, waitFor } from './support/servers.ts';

// Needs a Redis it may kill: its own redis-server, never the shared one on 6379.
test('while Redis is down, publish and history answer HERALD_ERR_BROKER_UNAVAILABLE and the socket stays usable', async () => {
  const redis = await PrivateRedis.start();
  const server = await startHerald({ redisUrl: redis.url, redisPrefix: uniquePrefix() }, installProtocolTestApp);
  try {
    const client = await ProtocolClient.open(`${server.wsUrl}/connect`);
    assert.equal((await client.request({ op: 'subscribe', channel: 'down' })).result.recoverable, true);
    await redis.kill();
    await waitFor(() => !server.herald.broker.health().ready, 5000, 'the broker to notice');
    const code = Errors.BROKER_UNAVAILABLE.code;
    assert.deepEqual((await client.request({ op: 'publish', channel: 'down', data: 1 })).error, { code, message: `${Errors.BROKER_UNAVAILABLE.message}; nothing was published` });
    assert.deepEqual((await client.request({ op: 'history', channel: 'down' })).error, { code, message: Errors.BROKER_UNAVAILABLE.message });
    assert.deepEqual((await client.request({ op: 'ping' })).result, {});
    await client.close();
  } finally {
    await redis.kill();
    await server.close();
  }
});
