import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { spawnHerald, uniquePrefix, REDIS_URL } from './support/servers.ts';
import { TestClient } from './support/ws-client.ts';

describe('shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} closes every socket with 1001 and exits 0 within a few seconds`, async () => {
      const server = await spawnHerald({ REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix() });
      const clients = await Promise.all([
        TestClient.open(`${server.wsUrl}/ws/news`),
        TestClient.open(`${server.wsUrl}/echo`),
        TestClient.open(`${server.wsUrl}/chat?username=a`),
      ]);
      const started = Date.now();
      const exitCode = await server.stop(signal);
      const closes = await Promise.all(clients.map((client) => client.closed));
      assert.deepEqual(closes, clients.map(() => ({ code: 1001, reason: 'server shutting down' })));
      assert.equal(exitCode, 0);
      assert.ok(Date.now() - started < 5000, `exited after ${Date.now() - started} ms`);
    });
  }
});
