import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installTaskTestApp } from './task-app.ts';

// `herald worker` (src/cli/worker.ts) with the task test app, for spawnWorker(env, 'test/support/task-worker.ts').
const herald = installTaskTestApp(createHerald(optionsFromEnv()));
const shutdown = (): void => {
  setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
  herald.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
await herald.work();
herald.log.info(`Herald worker ready (pid ${process.pid})`);
