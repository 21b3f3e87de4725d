import { Redis } from 'ioredis';
import type { Herald } from '../../src/herald.ts';
import { installProtocolTestApp } from './protocol-app.ts';

/** The Redis key that lets a running `gated` task go on (see installTaskTestApp). */
export function gateKey(prefix: string, taskId: string): string {
  return `${prefix}test-gate:${taskId}`;
}

/**
 * The protocol test app plus tasks for the `task` op:
 * - `gated` (clients: true): reports progress 1, waits until the test sets gateKey (with Redis;
 *   without, goes on at once), reports progress 2 and returns `{ "done": args }`;
 * - `boom` (clients: true): fails with "boom: <args>";
 * - `internal` (server code only) and `members` (authenticated clients only): return "ok";
 * - socket route `/start/:name`: each text frame (JSON args) starts task `name` with
 *   `tasks.start(…, { subscribe: socket })` and answers `{"started": "<id>"}`.
 */
export function installTaskTestApp(herald: Herald): Herald {
  installProtocolTestApp(herald);
  let redis: Redis | undefined;
  herald.task(
    'gated',
    async (args: unknown, ctx) => {
      await ctx.progress(1);
      const url = herald.options.redisUrl;
      if (url !== undefined) {
        redis ??= new Redis(url, { maxRetriesPerRequest: 1 });
        const key = gateKey(herald.options.redisPrefix, ctx.id);
        while ((await redis.exists(key)) === 0) {
          if (ctx.signal.aborted) throw ctx.signal.reason;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      await ctx.progress(2);
      return { done: args };
    },
    { clients: true, timeoutMs: 60_000 },
  );
  herald.task(
    'boom',
    (args: unknown) => {
      throw new Error(`boom: ${JSON.stringify(args)}`);
    },
    { clients: true },
  );
  herald.task('internal', () => 'ok');
  herald.task('members', () => 'ok', { clients: 'authenticated' });
  herald.socket('/start/:name', (socket) => {
    socket.onMessage(async (args) => {
      const { id } = await herald.tasks.start(socket.params.name!, JSON.parse(args), { subscribe: socket });
      socket.send({ started: id });
    });
  });
  return herald;
}
