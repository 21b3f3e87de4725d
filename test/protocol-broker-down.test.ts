import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { ProtocolClient } from './support/protocol-client.ts';
import { installProtocolTestApp } from './support/protocol-app.ts';
import { startHerald, uniquePrefix, waitFor } from './support/servers.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Needs a Redis it may kill: its own redis-server, never the shared one on 6379.
test('while Redis is down, publish and history answer HERALD_ERR_BROKER_UNAVAILABLE and the socket stays usable', async () => {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const server = await (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await startHerald({ redisUrl: `redis://127.0.0.1:${port}`, redisPrefix: uniquePrefix() }, installProtocolTestApp);
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100)); // redis-server still starting
      }
    }
  })();
  try {
    const client = await ProtocolClient.open(`${server.wsUrl}/connect`);
    assert.equal((await client.request({ op: 'subscribe', channel: 'down' })).result.recoverable, true);
    redis.kill('SIGKILL');
    await once(redis, 'exit');
    await waitFor(() => !server.herald.broker.health().ready, 5000, 'the broker to notice');
    const unavailable = { code: 'HERALD_ERR_BROKER_UNAVAILABLE', message: 'The broker is not reachable; nothing was published' };
    assert.deepEqual((await client.request({ op: 'publish', channel: 'down', data: 1 })).error, unavailable);
    assert.deepEqual((await client.request({ op: 'history', channel: 'down' })).error, { code: unavailable.code, message: 'Redis is not reachable' });
    assert.deepEqual((await client.request({ op: 'ping' })).result, {});
    await client.close();
  } finally {
    if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
    await server.close();
  }
});
