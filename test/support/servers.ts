import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { installDefaultApp } from '../../src/app/default-app.ts';
import type { HeraldOptions } from '../../src/config.ts';
import { createHerald, type Herald } from '../../src/herald.ts';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * How long a spawned server or worker may take to say it is up. tsx compiles every module on a
 * process's first start, which takes seconds of CPU on a busy 2-core machine; a start that takes
 * longer than this is a failure of its own, not load.
 */
export const START_TIMEOUT_MS = 45_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A Redis key/channel prefix no other test uses, so tests can run in parallel on one Redis. */
export function uniquePrefix(): string {
  return `herald-test:${randomBytes(5).toString('hex')}:`;
}

export interface RunningHerald {
  herald: Herald;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** Starts the default app in this process on a free port. */
export async function startHerald(options: HeraldOptions = {}, install: (herald: Herald) => void = installDefaultApp): Promise<RunningHerald> {
  const herald = createHerald({ port: 0, host: '127.0.0.1', logLevel: 'silent', ...options });
  install(herald);
  const address = await herald.listen();
  return { herald, url: address.url, wsUrl: address.url.replace(/^http/, 'ws'), close: () => herald.close() };
}

export interface HeraldProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Everything the process logged so far. */
  output(): string;
}

/**
 * Starts `npm start`'s server (src/cli.ts serve) as a separate process, as a user would run it, or
 * another entry `script` (relative to the repository) that logs `Herald on <url>` when listening.
 */
export async function spawnHerald(env: Record<string, string> = {}, script = 'src/cli.ts'): Promise<HeraldProcess> {
  // src/cli.ts is the `herald` command, dist/src/cli.js its build (run by plain node, as installed):
  // `serve` is what npm start runs.
  const compiled = script.endsWith('.js');
  const args = script === 'src/cli.ts' || compiled ? [script, 'serve'] : [script];
  const child = spawn(process.execPath, [...(compiled ? [] : ['--import', 'tsx']), ...args], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: nothing else would stop it (the caller never gets its handle).
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Herald on (http:\/\/[\d.:]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    output: () => output,
  };
}

/** A Redis connection for assertions and for publishing as another program would. */
/** Deletes every key under `prefix` on the shared Redis (a test's own key space, when it is done). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = redisClient();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
}

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 3 });
}

/** Polls `check` until it returns true, up to `timeoutMs`: waiting for an effect, never a fixed sleep. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** POSTs JSON and returns the status and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}
