import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installTaskTestApp } from './task-app.ts';

// src/cli.ts with the task test app, for spawnHerald(env, 'test/support/task-server.ts').
const herald = installTaskTestApp(createHerald(optionsFromEnv()));
const shutdown = (): void => {
  setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
  herald.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
const address = await herald.listen();
herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind})`);
