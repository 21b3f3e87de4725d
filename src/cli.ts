#!/usr/bin/env -S npx tsx
import { installDefaultApp } from './app/default-app.ts';
import { ConfigError, optionsFromEnv } from './config.ts';
import { createHerald } from './herald.ts';

/** `npm start`: the default app, configured from the environment (docs/config.md). */
async function main(): Promise<void> {
  let herald;
  try {
    herald = createHerald(optionsFromEnv());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`herald: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  installDefaultApp(herald);
  const shutdown = (signal: string): void => {
    herald.log.info({ signal }, 'shutting down');
    // Never hang on the way out: the sockets have had their close frames by then.
    setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
    herald.close().then(
      () => process.exit(0),
      (error: unknown) => {
        herald.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  try {
    const address = await herald.listen();
    herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind})`);
  } catch (error) {
    herald.log.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
}

await main();
