import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { runHerald, servedUrl, startHeraldCommand } from './support/cli.ts';

// The `herald` command as installed: the built dist/src/cli.js run by node, its exact output and
// exit codes. Each subcommand has its own file (cli-*.test.ts).
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const SERVE = ['serve', '--port', '0', '--host', '127.0.0.1'];

describe('herald command', () => {
  test('--version prints the package version; --help lists the commands; no command is a usage error', async () => {
    assert.deepEqual(await runHerald(['--version']), { code: 0, stdout: `${VERSION}\n`, stderr: '' });
    const help = await runHerald(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['serve', 'worker', 'publish', 'token', 'check']) assert.match(help.stdout, new RegExp(`^  ${command} +\\S`, 'm'));
    const none = await runHerald([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^herald: no command given\n/);
    const unknown = await runHerald(['srve']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^herald: unknown command "srve"\n/);
  });

  test('every command has --help, and an unknown option is a usage error (exit 2)', async () => {
    const commands = ['serve', 'worker', 'publish', 'token', 'check'];
    const helps = await Promise.all(commands.map((command) => runHerald([command, '--help'])));
    for (const [index, command] of commands.entries()) {
      const help = helps[index]!;
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^Usage: herald ${command}`), command);
      assert.match(help.stdout, /^ {2}-h, --help +Show this help\.$/m, command);
    }
    const bad = await runHerald(['serve', '--prot', '1']);
    assert.deepEqual(bad, { code: 2, stdout: '', stderr: "herald serve: Unknown option '--prot'\n(herald serve --help lists the options)\n" });
  });

  test('serve: --port and --host are used, a bad --port stops it with exit 2, SIGTERM exits 0', async () => {
    const server = startHeraldCommand([...SERVE, '--no-demos']);
    const url = await servedUrl(server);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.deepEqual(await runHerald(['serve', '--port', '70000']), {
      code: 2,
      stdout: '',
      stderr: 'herald serve: --port must be a whole number from 0 to 65535, got 70000\n',
    });
  });

  test('serve on one CPU sweeps the old generation on the main thread and still serves through full collections', async () => {
    const ONE_CPU = /One CPU available: the garbage collector sweeps on the main thread/;
    const pinned = startHeraldCommand([...SERVE, '--no-demos'], { cpu: 0, env: { LOG_LEVEL: 'info' } });
    const url = await servedUrl(pinned);
    await pinned.waitFor(ONE_CPU);
    // Enough garbage for several scavenges and a mark-compact with the flag in force.
    for (let i = 0; i < 200; i++) {
      const response = await fetch(`${url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: `gc-${i % 20}`, data: 'x'.repeat(50_000) }) });
      assert.equal(response.status, 200, await response.text());
    }
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal(await pinned.stop('SIGTERM'), 0);
    if (availableParallelism() === 1) return;
    const free = startHeraldCommand([...SERVE, '--no-demos'], { env: { LOG_LEVEL: 'info' } });
    await servedUrl(free);
    assert.doesNotMatch(free.output(), ONE_CPU);
    assert.equal(await free.stop('SIGTERM'), 0);
  });
});
