import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
});
