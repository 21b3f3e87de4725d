import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { closedPort, runHerald, startHeraldCommand } from './support/cli.ts';
import { REDIS_URL, uniquePrefix } from './support/servers.ts';

// `herald check` and `herald worker` from dist/, in a directory without a configuration file.
const temporary = mkdtempSync(join(tmpdir(), 'herald-check-'));
after(() => rmSync(temporary, { recursive: true, force: true }));

describe('herald check and herald worker', () => {
  test('check: exit 0 with a summary; a bad setting or an unreachable Redis names the problem', async () => {
    const memory = await runHerald(['check'], { cwd: temporary });
    assert.deepEqual(memory, { code: 0, stdout: 'configuration: ok (no configuration file)\nbroker: memory (REDIS_URL not set)\ndemos: on; port 8000 on 0.0.0.0\n', stderr: '' });
    const redis = await runHerald(['check', '--redis-url', REDIS_URL], { cwd: temporary, env: { HERALD_DEMOS: 'false', PORT: '9000' } });
    assert.equal(redis.code, 0, redis.stderr);
    assert.equal(redis.stdout, `configuration: ok (no configuration file)\nbroker: redis at ${new URL(REDIS_URL).host}: ok\ndemos: off; port 9000 on 0.0.0.0\n`);
    const port = await closedPort();
    const down = await runHerald(['check'], { cwd: temporary, env: { REDIS_URL: `redis://user:pw@127.0.0.1:${port}` } });
    assert.equal(down.code, 1);
    assert.equal(down.stderr, `herald check: cannot reach Redis at 127.0.0.1:${port}: ECONNREFUSED\n`);
    assert.deepEqual(await runHerald(['check'], { cwd: temporary, env: { HERALD_MAX_FRAME_BYTES: 'lots' } }), {
      code: 2,
      stdout: '',
      stderr: 'herald check: HERALD_MAX_FRAME_BYTES must be a whole number from 1 to 268435456, got "lots"\n',
    });
    assert.deepEqual(await runHerald(['check'], { cwd: temporary, env: { HERALD_JWT_PUBLIC_KEY: 'not a key' } }), {
      code: 2,
      stdout: '',
      stderr: 'herald check: jwtPublicKey (HERALD_JWT_PUBLIC_KEY) is not a PEM public key\n',
    });
  });

  test('worker: takes tasks with Redis; without Redis it stops with exit 2 saying so', async () => {
    const worker = startHeraldCommand(['worker'], { env: { REDIS_URL, HERALD_REDIS_PREFIX: uniquePrefix() } });
    try {
      await worker.waitFor(/Herald worker ready \(4 at a time, pid \d+\)/);
    } finally {
      assert.equal(await worker.stop('SIGTERM'), 0);
    }
    const alone = await runHerald(['worker'], { cwd: temporary });
    assert.equal(alone.code, 2);
    assert.equal(alone.stderr, 'herald worker: a worker process needs REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS): without Redis, tasks run inside the server\n');
  });
});
