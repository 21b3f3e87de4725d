import { installDefaultApp } from '../app/default-app.ts';
import { createHerald } from '../herald.ts';
import type { Command } from './command.ts';
import { configOption, settingsFor } from './load-settings.ts';
import { exitOnSignals } from './shutdown.ts';

export const worker: Command = {
  name: 'worker',
  summary: "Run the default app's background tasks from the Redis queue, without serving HTTP or sockets.",
  options: {
    'redis-url': { type: 'string', value: '<url>', description: 'The Redis the servers use (REDIS_URL; required).' },
    ...configOption,
  },
  details:
    'Start as many as you like beside the servers, with the same REDIS_URL and HERALD_REDIS_PREFIX.\n' +
    'HERALD_TASK_WORKERS sets how many tasks each runs at once. SIGTERM or SIGINT stops it.',
  async run(parsed) {
    const { options } = settingsFor(parsed);
    const herald = createHerald(options);
    installDefaultApp(herald);
    await herald.work();
    exitOnSignals(herald, 'worker');
    herald.log.info(`Herald worker ready (${herald.options.taskWorkers} at a time, pid ${process.pid})`);
    return new Promise<number>(() => {});
  },
};
