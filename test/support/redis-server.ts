import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A TCP port free on 127.0.0.1 right now (someone else may take it before we bind it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** redis-server could not bind its port: another process took it between freePort() and the bind. */
class PortTaken extends Error {}

/** How often start() draws a fresh port after losing the race for one. */
const START_ATTEMPTS = 10;

/**
 * A private redis-server for tests that stop, pause (`CLIENT PAUSE`, `DEBUG SLEEP`: the DEBUG
 * command is enabled for local clients) and restart Redis: the shared one on 6379 must
 * never be disturbed, since other test files use it at the same time.
 *
 * Redis cannot bind port 0, so a port is picked first and may be taken by another test's server
 * before ours binds it: start() then tries a fresh port. A server only counts as started when the
 * one answering on the port is our child (its process id), never a stranger that holds the port.
 */
export class PrivateRedis {
  readonly port: number;
  /** With `persistent`: where `stop()` saves the data that `restart()` loads. */
  readonly #dir: string | undefined;
  #child: ChildProcess | undefined;

  private constructor(port: number, dir: string | undefined) {
    this.port = port;
    this.#dir = dir;
  }

  /**
   * `persistent: true` keeps the data across `stop()` and `restart()` (a Redis restarted with
   * persistence, or a network outage); otherwise a restart starts empty. `pickPort` is for the
   * helper's own test, which makes it lose the race for a port on purpose.
   */
  static async start(options: { persistent?: boolean; pickPort?: () => Promise<number> } = {}): Promise<PrivateRedis> {
    const dir = options.persistent === true ? await mkdtemp(join(tmpdir(), 'herald-redis-')) : undefined;
    for (let attempt = 1; ; attempt++) {
      const redis = new PrivateRedis(await (options.pickPort ?? freePort)(), dir);
      try {
        await redis.restart();
        return redis;
      } catch (error) {
        if (!(error instanceof PortTaken) || attempt === START_ATTEMPTS) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port and waits until our server answers PING. */
  async restart(): Promise<void> {
    const files = this.#dir === undefined ? [] : ['--dir', this.#dir, '--dbfilename', 'dump.rdb'];
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local', ...files], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.#child = child;
    let log = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        if (log.includes('Address already in use')) throw new PortTaken(`port ${this.port} is taken`);
        throw new Error(`private redis-server exited (${child.exitCode ?? child.signalCode}):\n${log}`);
      }
      if (await answersAs(this.url, child.pid!)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`private redis-server did not start:\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Saves the data (persistent servers) and stops the server; `restart()` brings it back. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    const client = new Redis(this.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    await client.call('SHUTDOWN', this.#dir === undefined ? 'NOSAVE' : 'SAVE').catch(() => {}); // the connection drops as it exits
    client.disconnect();
    await exited;
  }

  /** Kills the server and removes its saved data. */
  async remove(): Promise<void> {
    await this.kill();
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
  }

  /** Kills the server at once, as a crash would. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/** Whether the Redis at `url` answers and is the process `pid`. */
async function answersAs(url: string, pid: number): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const info = await probe.info('server');
    return new RegExp(`^process_id:${pid}\\r?$`, 'm').test(info);
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
