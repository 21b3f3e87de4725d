import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here so `src/cli.ts` and `bench/...` resolve. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** CPU the servers are pinned to, and the CPU of the load generators (and the bench's Redis). */
export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

const children = new Set<ChildProcess>();
/** Shell wrappers that stop their child when their stdin closes: never SIGKILL them (the child would outlive them). */
const selfStopping = new WeakSet<ChildProcess>();
let cleanupInstalled = false;

/**
 * Every child of the bench is killed when the bench ends, however it ends (normal exit, error,
 * Ctrl-C). Children also watch their stdin (a pipe from us) and exit when it closes, which covers
 * the bench itself being killed with SIGKILL.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = (): void => {
    for (const child of children) {
      if (selfStopping.has(child)) child.stdin?.destroy();
      else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping every child`);
      killAll();
      process.exit(130);
    });
  }
}

export interface PinnedChild {
  child: ChildProcess;
  pid: number;
  /** Everything it printed (last 20 kB), for error messages. */
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `command args` pinned to `cpu` with taskset; stdin is a pipe whose end means "exit". */
export function spawnPinned(
  cpu: string,
  command: string,
  args: string[],
  options: SpawnOptions & { ipc?: boolean; stopsOnStdinEnd?: boolean } = {},
): PinnedChild {
  installCleanup();
  const stdio: SpawnOptions['stdio'] = options.ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'];
  const child = spawn('taskset', ['-c', cpu, command, ...args], { cwd: ROOT, ...options, stdio });
  children.add(child);
  if (options.stopsOnStdinEnd) selfStopping.add(child);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (options.stopsOnStdinEnd) child.stdin?.end();
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port free right now on 127.0.0.1 (the child binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Polls `url` until it answers 200, or fails after `timeoutMs` (with the child's output). */
export async function waitForHttp(url: string, child: PinnedChild, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  child.exited.then((code) => {
    exitCode = code;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${url}: the server exited with ${exitCode}:\n${child.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${child.output()}`);
}

/** Resident memory of a process in bytes, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * CPU time a process has used so far (all its threads), in ms, from /proc: the nanosecond run
 * times of /proc/<pid>/task/<tid>/schedstat where the kernel has them, else user + system time
 * from /proc/<pid>/stat, which counts in 10 ms ticks (too coarse for the µs per publication of a
 * short step: 200 publications in 10 ms ticks measure Redis in steps of 50 µs). A thread that
 * ended is missing from the sum, so the servers' and Redis's long-lived threads are what counts.
 */
export function cpuMs(pid: number): number {
  try {
    let nanos = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    if (nanos > 0) return nanos / 1e6;
  } catch {
    // no schedstat: fall back to the ticks below
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
