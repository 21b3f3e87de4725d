#!/usr/bin/env -S npx tsx
import { installDefaultApp } from '../app/default-app.ts';
import { ConfigError, optionsFromEnv } from '../config.ts';
import { createHerald } from '../herald.ts';

/**
 * `npm run worker`: runs the default app's tasks from the Redis queue, without serving HTTP or
 * sockets. Start as many as you like beside the servers (same REDIS_URL and HERALD_REDIS_PREFIX).
 */
async function main(): Promise<void> {
  let herald;
  try {
    herald = createHerald(optionsFromEnv());
    installDefaultApp(herald);
    await herald.work();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`herald worker: ${error.message}`);
      process.exit(2);
    }
    console.error('herald worker: could not start', error);
    process.exit(1);
  }
  const shutdown = (signal: string): void => {
    herald.log.info({ signal }, 'worker shutting down');
    setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
    herald.close().then(
      () => process.exit(0),
      (error: unknown) => {
        herald.log.error({ err: error }, 'worker shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  herald.log.info(`Herald worker ready (${herald.options.taskWorkers} at a time, pid ${process.pid})`);
}

await main();
