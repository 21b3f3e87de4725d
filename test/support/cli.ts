import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The built `herald` command, as the package's `bin` runs it (`npm test` builds it first). */
export const HERALD_BIN = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

function ensureBuilt(): void {
  if (!existsSync(HERALD_BIN)) throw new Error('dist/ is not built: run npm run build (npm test does it first)');
}

/** Only what the command needs from this environment, so the developer's HERALD_* settings stay out. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `herald ...args` to completion. */
export function runHerald(args: string[], { env = {}, cwd = ROOT }: { env?: Record<string, string>; cwd?: string } = {}): Promise<CommandResult> {
  ensureBuilt();
  return new Promise((resolve) => {
    execFile(process.execPath, [HERALD_BIN, ...args], { cwd, env: cleanEnv(env), timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface HeraldCommand {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  /** Resolves with the first match of `pattern` in the output (waiting for it, up to `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a long-running `herald ...args` (serve, worker) and collects its output. */
export function startHeraldCommand(
  args: string[],
  { env = {}, cwd = ROOT, cpu }: { env?: Record<string, string>; cwd?: string; /** Pins it to this CPU (taskset). */ cpu?: number } = {},
): HeraldCommand {
  ensureBuilt();
  const command = [process.execPath, HERALD_BIN, ...args];
  if (cpu !== undefined) command.unshift('taskset', '-c', String(cpu));
  const child = spawn(command[0]!, command.slice(1), { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    exited,
    output: () => output,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output);
          if (match === null) return;
          done();
          resolve(match);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms in the output of herald ${args.join(' ')}:\n${output}`));
        }, timeoutMs);
        const onExit = (): void => {
          setImmediate(() => {
            check();
            done();
            reject(new Error(`herald ${args.join(' ')} exited before ${pattern}:\n${output}`));
          });
        };
        function done(): void {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        }
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The URL a started `herald serve` logged (`Herald on http://…`). */
export async function servedUrl(server: HeraldCommand): Promise<string> {
  return (await server.waitFor(/Herald on (http:\/\/[\d.:]+)/))[1]!;
}

/** Runs `herald serve` on a free port of 127.0.0.1 (stopped by `stopAll`) and returns its URL. */
export async function serveOnFreePort(running: HeraldCommand[], args: string[], env: Record<string, string> = {}): Promise<string> {
  const server = startHeraldCommand(['serve', '--port', '0', '--host', '127.0.0.1', ...args], { env });
  running.push(server);
  return servedUrl(server);
}

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
