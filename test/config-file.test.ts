import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CONFIG_DOC, withCurrentTables } from '../scripts/config-docs.ts';
import { ConfigError, resolveOptions } from '../src/config.ts';
import { loadSettings } from '../src/config-sources.ts';
import { runHerald, servedUrl, startHeraldCommand } from './support/cli.ts';

// herald.config.json, environment variables and flags: one schema, one precedence order, and
// messages that name the key and what it expects.
const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, settings: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof settings === 'string' ? settings : JSON.stringify(settings));
  return path;
}

describe('configuration file and precedence', () => {
  test('docs/config.md lists exactly the settings of the schema (npm run docs:config regenerates it)', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    assert.equal(doc, withCurrentTables(doc), 'docs/config.md is out of date: run npm run docs:config');
    assert.match(doc, /^\| `jwtSecret` \| `HERALD_JWT_SECRET` or `HERALD_JWT_SECRET_FILE` \| unset \|/m);
  });

  test('command line over environment over file over defaults', () => {
    const configPath = writeConfig('layers.json', { port: 7001, host: '127.0.0.2', logLevel: 'warn', demos: false });
    const fileOnly = loadSettings({ configPath, env: {} });
    assert.deepEqual([fileOnly.options.port, fileOnly.options.host, fileOnly.options.logLevel, fileOnly.serve.demos], [7001, '127.0.0.2', 'warn', false]);
    assert.equal(fileOnly.options.maxFrameBytes, 65536, 'a default');
    const withEnv = loadSettings({ configPath, env: { PORT: '7002', HERALD_DEMOS: 'true' } });
    assert.deepEqual([withEnv.options.port, withEnv.options.host, withEnv.serve.demos], [7002, '127.0.0.2', true]);
    const withFlags = loadSettings({ configPath, env: { PORT: '7002' }, flags: { port: 7003 } });
    assert.deepEqual([withFlags.options.port, withFlags.configFile], [7003, configPath]);
    // Without --config, herald.config.json in the working directory, if there is one.
    writeConfig('herald.config.json', { redisPrefix: 'from-file:' });
    assert.equal(loadSettings({ cwd: dir, env: {} }).options.redisPrefix, 'from-file:');
    assert.equal(loadSettings({ cwd: tmpdir(), env: {} }).configFile, undefined);
  });

  test('secrets from *_FILE variables: the file contents without the trailing newline', () => {
    const secret = writeConfig('jwt-secret', 'a-secret-of-at-least-thirty-two-characters\n');
    const key = writeConfig('api-key', 'k-123\n');
    const redis = writeConfig('redis-url', 'redis://127.0.0.1:6379/2\n');
    const { options } = loadSettings({ cwd: tmpdir(), env: { HERALD_JWT_SECRET_FILE: secret, HERALD_API_KEY_FILE: key, REDIS_URL_FILE: redis } });
    assert.deepEqual([options.jwtSecret, options.apiKey, options.redisUrl], ['a-secret-of-at-least-thirty-two-characters', 'k-123', 'redis://127.0.0.1:6379/2']);
    assert.throws(() => loadSettings({ cwd: tmpdir(), env: { HERALD_API_KEY: 'x', HERALD_API_KEY_FILE: key } }), {
      message: 'Set only one of HERALD_API_KEY and HERALD_API_KEY_FILE',
    });
    assert.throws(() => loadSettings({ cwd: tmpdir(), env: { HERALD_API_KEY_FILE: join(dir, 'missing') } }), {
      message: `HERALD_API_KEY_FILE: cannot read "${join(dir, 'missing')}" (ENOENT)`,
    });
  });

  test('bad values name the setting where it was given, and never repeat a secret', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => loadSettings({ configPath: writeConfig('a.json', { prot: 8000 }), env: {} }), `${join(dir, 'a.json')}: prot: unknown setting; known settings: port, host, `],
      [() => loadSettings({ configPath: writeConfig('b.json', { port: '8000' }), env: {} }), `${join(dir, 'b.json')}: port must be a whole number from 0 to 65535, got "8000"`],
      [() => loadSettings({ configPath: writeConfig('c.json', { workers: 'many' }), env: {} }), `${join(dir, 'c.json')}: workers must be a whole number from 1 to 1024 or "auto", got "many"`],
      [() => loadSettings({ configPath: writeConfig('d.json', '{"port": 80,}'), env: {} }), `${join(dir, 'd.json')} is not valid JSON: `],
      [() => loadSettings({ configPath: writeConfig('e.json', { redisUrl: 'http://user:hunter2@x' }), env: {} }), `${join(dir, 'e.json')}: redisUrl must be a redis:// or rediss:// URL`],
      [() => loadSettings({ cwd: tmpdir(), env: { LOG_LEVEL: 'loud' } }), 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"'],
      [() => loadSettings({ cwd: tmpdir(), env: { HERALD_WORKERS: 'x' } }), 'HERALD_WORKERS must be a whole number from 1 to 1024 or "auto", got "x"'],
      [() => loadSettings({ cwd: tmpdir(), env: {}, flags: { port: -1 } }), '--port must be a whole number from 0 to 65535, got -1'],
      [() => loadSettings({ configPath: join(dir, 'nope.json'), env: {} }), `cannot read the configuration file ${join(dir, 'nope.json')} (ENOENT)`],
      [() => resolveOptions({ heartbeatMs: 5 }), 'heartbeatMs must be a whole number from 100 to 3600000, got 5'],
    ];
    for (const [attempt, message] of cases) {
      assert.throws(attempt, (error: unknown) => {
        assert.ok(error instanceof ConfigError, message);
        assert.ok(error.message.startsWith(message), `${error.message}\ndoes not start with\n${message}`);
        assert.ok(!error.message.includes('hunter2'));
        return true;
      });
    }
  });

  test('herald serve reads --config; an unknown key stops it with exit 2 naming the key', async () => {
    const good = writeConfig('serve.json', { port: 0, host: '127.0.0.1', demos: false, logLevel: 'info' });
    const server = startHeraldCommand(['serve', '--config', good]);
    const url = await servedUrl(server);
    assert.match(server.output(), /Herald on http:\/\/127\.0\.0\.1:\d+ \(broker: memory, no demos\)/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await server.stop(), 0);
    const bad = writeConfig('typo.json', { port: 0, redis_url: 'redis://127.0.0.1:6379' });
    const refused = await runHerald(['serve', '--config', bad]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^herald serve: \S+typo\.json: redis_url: unknown setting; known settings: port, host, redisUrl, /);
  });
});
