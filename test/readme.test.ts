import assert from 'node:assert/strict';
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { freePort } from './support/redis-server.ts';
import { waitFor } from './support/servers.ts';

// Runs the README's commands as written, so the README cannot drift from what works. Only the
// ports change: the README's 8000-8002 may be in use (a server someone runs, a parallel test run),
// so each is replaced by a free port, in `PORT=` and in `127.0.0.1:` URLs alike.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The shell commands of the `sh` blocks in the README section titled `heading`. */
function commandsUnder(heading: string): string[] {
  const start = README.indexOf(`## ${heading}`);
  assert.notEqual(start, -1, `README has a section "${heading}"`);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  const commands: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const joined = block[1]!.replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) {
      if (line.trim() !== '' && !line.trim().startsWith('#')) commands.push(line.replace(/\s+#.*$/, '').trim());
    }
  }
  return commands;
}

/** `command` with each README port replaced by its free stand-in (and checked that it was there). */
function onPorts(command: string, ports: Record<number, number>, expected: number[]): string {
  for (const port of expected) assert.match(command, new RegExp(`(PORT=|127\\.0\\.0\\.1:)${port}\\b`), `the README command uses port ${port}: ${command}`);
  return command.replace(/\b(PORT=|127\.0\.0\.1:)(\d+)\b/g, (whole, before: string, port: string) => {
    const stand = ports[Number(port)];
    return stand === undefined ? whole : `${before}${stand}`;
  });
}

async function freePorts(...readmePorts: number[]): Promise<Record<number, number>> {
  const ports: Record<number, number> = {};
  for (const port of readmePorts) ports[port] = await freePort();
  return ports;
}

describe('README commands', () => {
  const background: ChildProcess[] = [];
  /** Starts a long-running command in its own process group, collecting its output. */
  function startInBackground(command: string): { output: () => string } {
    const child = spawn('bash', ['-c', command], { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    background.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { output: () => output };
  }
  after(() => {
    for (const child of background) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {}
    }
  });
  const healthy = (port: number) => async () => {
    try {
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    } catch {
      return false;
    }
  };

  test('"Two processes, one Redis": a message published on one process reaches a listener on the other', async () => {
    const ports = await freePorts(8001, 8002);
    const commands = commandsUnder('Two processes, one Redis');
    const servers = commands.filter((command) => command.includes('npm start'));
    assert.equal(servers.length, 2);
    startInBackground(onPorts(servers[0]!, ports, [8001]));
    startInBackground(onPorts(servers[1]!, ports, [8002]));
    await waitFor(healthy(ports[8001]!), 30_000, 'the server on the first port');
    await waitFor(healthy(ports[8002]!), 30_000, 'the server on the second port');

    const rest = commands.filter((command) => !command.includes('npm start'));
    const tailCommand = rest.find((command) => command.includes('npm run tail'))!;
    const tail = startInBackground(onPorts(tailCommand, ports, [8001]));
    await waitFor(() => tail.output().includes('connected to'), 30_000, 'the listener to connect');
    for (const command of rest.filter((c) => c !== tailCommand)) {
      const stdout = execSync(onPorts(command, ports, command.startsWith('curl') ? [8002] : []), { cwd: ROOT, encoding: 'utf8' });
      if (command.startsWith('curl')) assert.equal(stdout, '{"ok":true}');
    }
    await waitFor(() => /crossed over\n[\s\S]*from redis-cli\n/.test(tail.output()), 10_000, 'both messages at the listener');
  });

  test('"Command line": the commands run from a clone as written', () => {
    const commands = commandsUnder('Command line');
    assert.equal(commands.length, 3);
    const [help, token, check] = commands.map((command) => execSync(command, { cwd: ROOT, encoding: 'utf8' }));
    assert.match(help!, /^Usage: herald <command> \[options\]\n/);
    assert.match(token!, /^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    assert.match(check!, /^configuration: ok /);
  });

  test('"Quick start": npm start serves the echo demo on port 8000 (PORT picks another) and the tail script talks to it', async () => {
    const ports = await freePorts(8000);
    const start = commandsUnder('Quick start').find((command) => command.includes('npm start'))!;
    assert.match(README, /set `PORT` to use another port/);
    startInBackground(`PORT=${ports[8000]} ${start.replace(/^npm install && /, '')}`);
    await waitFor(healthy(ports[8000]!), 30_000, 'the server');
    const tailCommand = onPorts(commandsUnder('Quick start').find((command) => command.includes('npm run tail'))!, ports, [8000]);
    const child = spawn('bash', ['-c', tailCommand], { cwd: ROOT, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    background.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => output.includes('connected to'), 30_000, 'the tail script to connect');
    child.stdin!.write('hello from the README\n');
    await waitFor(() => output.includes('Message text was: hello from the README'), 10_000, 'the echo');
  });
});
