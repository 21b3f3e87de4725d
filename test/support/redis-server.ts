import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * A private redis-server for tests that stop and restart Redis: the shared one on 6379 must never
 * be disturbed, since other test files use it at the same time.
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
   * persistence, or a network outage); otherwise a restart starts empty.
   */
  static async start(options: { persistent?: boolean } = {}): Promise<PrivateRedis> {
    const dir = options.persistent === true ? await mkdtemp(join(tmpdir(), 'herald-redis-')) : undefined;
    const redis = new PrivateRedis(await freePort(), dir);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on the same port and waits until it answers PING. */
  async restart(): Promise<void> {
    const files = this.#dir === undefined ? [] : ['--dir', this.#dir, '--dbfilename', 'dump.rdb'];
    this.#child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...files], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error('private redis-server did not start');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
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
