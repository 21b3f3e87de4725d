import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { startHeraldCommand } from './support/cli.ts';
import { REDIS_URL, uniquePrefix } from './support/servers.ts';

// `herald serve --workers 2` from dist/ when its server processes cannot start.
describe('server processes that keep failing', () => {
  test('a server process that keeps dying is restarted after a doubling delay, not in a tight loop', async () => {
    // The port is taken, so every server process fails to listen and exits at once.
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as { port: number };
    const failing = startHeraldCommand(['serve', '--workers', '2', '--port', String(port), '--host', '127.0.0.1', '--no-demos'], {
      env: { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix() },
    });
    try {
      await failing.waitFor(/exited \(1\); starting a new one in 0 ms/, 30_000);
      await failing.waitFor(/exited \(1\); starting a new one in 250 ms/, 30_000);
      await failing.waitFor(/exited \(1\); starting a new one in 500 ms/, 30_000);
    } finally {
      assert.equal(await failing.stop('SIGTERM'), 0);
      blocker.close();
    }
  });
});
