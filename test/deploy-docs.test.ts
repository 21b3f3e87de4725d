import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { defaults } from '../src/config.ts';
import { includedBlocks, repoFile, unitEnvironment, unitExecStart } from './support/deploy-files.ts';
import { httpFrom } from './support/http-from.ts';
import { spawnHerald, uniquePrefix, waitFor } from './support/servers.ts';
import { hs256Token } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

const run = promisify(execFile);

/** `NAME=value` lines of an environment file, comments and blank lines skipped. */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match !== null) env[match[1]!] = match[2]!;
  }
  return env;
}

describe('docs/deploy.md', () => {
  test('shows the files under deploy/ verbatim, and no configuration that is not one of them', async () => {
    const blocks = await includedBlocks('docs/deploy.md');
    assert.deepEqual([...blocks.keys()].sort(), ['deploy/herald.env', 'deploy/herald@.service', 'deploy/nginx-tls.conf', 'deploy/nginx.conf']);
    for (const [path, shown] of blocks) assert.equal(shown, await repoFile(path), `${path} as shown in docs/deploy.md`);
    const doc = await repoFile('docs/deploy.md');
    const configBlocks = doc.match(/```(nginx|ini)\n/g) ?? [];
    assert.equal(configBlocks.length, 3, 'every nginx and systemd block is an included file');
  });

  test('nginx keeps a quiet WebSocket open longer than two heartbeats', async () => {
    for (const path of ['deploy/nginx.conf', 'deploy/nginx-tls.conf']) {
      const config = await repoFile(path);
      for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
        const match = new RegExp(`${directive} (\\d+)s;`).exec(config);
        assert.ok(match !== null, `${path}: ${directive}`);
        assert.ok(Number(match[1]) * 1000 > 2 * defaults.heartbeatMs, `${path}: ${directive} ${match[1]}s`);
      }
    }
  });

  test('the systemd unit passes systemd-analyze verify', async (t) => {
    const found = await run('systemd-analyze', ['--version']).then(() => true, () => false);
    if (!found) return t.skip('systemd-analyze is not installed');
    const dir = await mkdtemp(join(tmpdir(), 'herald-unit-'));
    try {
      // An instance of the template, as systemctl would load herald@8001.service.
      await copyFile(new URL('../deploy/herald@.service', import.meta.url), join(dir, 'herald@8001.service'));
      const { stdout, stderr } = await run('systemd-analyze', ['verify', 'herald@8001.service'], { cwd: dir });
      assert.equal(stdout + stderr, '');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the unit's command, environment and secrets file start a Herald that logs JSON lines as shown", async () => {
    const unit = await repoFile('deploy/herald@.service');
    assert.deepEqual(unitExecStart(unit), ['/usr/bin/node', 'node_modules/herald/dist/src/cli.js', 'serve']);
    const secrets = envFile(await repoFile('deploy/herald.env'));
    // The unit's command (the compiled `herald serve`, run by plain node), with the unit's
    // environment and its EnvironmentFile; port 0 instead of the instance's port.
    const server = await spawnHerald({ ...unitEnvironment(unit, '0'), ...secrets, HERALD_REDIS_PREFIX: uniquePrefix(), HERALD_MAX_CONNECTIONS_PER_IP: '1' }, 'dist/src/cli.js');
    try {
      const ready = await httpFrom(`${server.url}/readyz`);
      // The canary's round trip varies; its shape and meaning are checked in delivery-canary.test.ts.
      const { canary, ...readiness } = ready.body as { canary: { ok: boolean } };
      assert.deepEqual({ status: ready.status, body: readiness }, { status: 200, body: { ok: true, broker: 'redis', connections: { publisher: 'ready', subscriber: 'ready' } } });
      assert.equal(canary.ok, true);
      const publish = { body: { channel: 'deploy-unit', data: 1 } };
      assert.equal((await httpFrom(`${server.url}/api/publish`, publish)).status, 401);
      const withKey = { ...publish, headers: { authorization: `Bearer ${secrets.HERALD_API_KEY}` } };
      assert.deepEqual(await httpFrom(`${server.url}/api/publish`, withKey), { status: 200, body: { ok: true } });

      // Every line is one JSON object; a refusal has the fields the doc's example has, in its order.
      // The first socket holds the address's one connection: signed in, since the secrets file turns
      // JWT on (an anonymous one would be closed with 1008 at once, freeing the count in a race
      // with the second handshake).
      const token = await hs256Token('ops', { secret: secrets.HERALD_JWT_SECRET });
      const first = await TestClient.open(`${server.wsUrl}/echo?token=${token}`);
      await assert.rejects(TestClient.open(`${server.wsUrl}/echo?token=${token}`), { statusCode: 429 });
      await waitFor(() => server.output().includes('"refusal":"too-many-connections"'), 5000, 'the refusal line');
      const lines = server.output().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      for (const line of lines) {
        assert.equal(typeof line.level, 'number');
        assert.equal(typeof line.time, 'number');
        assert.equal(typeof line.msg, 'string');
      }
      const refusal = lines.find((line) => line.refusal === 'too-many-connections')!;
      const doc = await repoFile('docs/deploy.md');
      const example = JSON.parse(/<!-- log-line -->\n```json\n(.*)\n```/.exec(doc)![1]!) as Record<string, unknown>;
      assert.deepEqual(Object.keys(refusal), Object.keys(example));
      assert.deepEqual({ ...refusal, time: 0, pid: 0, hostname: '', limit: 0, remoteAddress: '' }, { ...example, time: 0, pid: 0, hostname: '', limit: 0, remoteAddress: '' });
      await first.close();
    } finally {
      await server.stop();
    }
  });

  test('the capacity figures are those of docs/benchmarks.md', async () => {
    const doc = await repoFile('docs/deploy.md');
    const scaling = doc.slice(doc.indexOf('## Scaling out'));
    const benchmarks = await repoFile('docs/benchmarks.md');
    for (const figure of ['4,000,000', '1,400,000', '5,600,000', '3.42 KiB', '3.83 KiB', '100,000', '1246 MiB', '9,997']) {
      assert.ok(scaling.includes(figure), `deploy.md quotes ${figure}`);
      assert.ok(benchmarks.includes(figure), `benchmarks.md has ${figure}`);
    }
  });
});
