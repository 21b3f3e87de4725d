import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
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
  #child: ChildProcess | undefined;

  private constructor(port: number) {
    this.port = port;
  }

  /** `pickPort` is for the helper's own test, which makes it lose the race on purpose. */
  static async start(pickPort: () => Promise<number> = freePort): Promise<PrivateRedis> {
    for (let attempt = 1; ; attempt++) {
      const redis = new PrivateRedis(await pickPort());
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
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], {
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
