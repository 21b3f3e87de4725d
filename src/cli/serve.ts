import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { installCoreApp } from '../app/core-app.ts';
import { installDefaultApp } from '../app/default-app.ts';
import { withDemoPusherApp } from '../app/pusher-demo.ts';
import { openDemoNotice } from '../app/demo-notice.ts';
import { ConfigError } from '../config.ts';
import { createHerald } from '../herald.ts';
import type { Command } from './command.ts';
import { configOption, settingsFor } from './load-settings.ts';
import { sweepOnMainThreadWhenOneCpu } from './one-cpu-gc.ts';
import { runServerProcesses } from './server-processes.ts';
import { exitOnSignals } from './shutdown.ts';

export const serve: Command = {
  name: 'serve',
  summary: 'Run the Herald server: the default app with its demos, or only the core with --no-demos.',
  options: {
    port: { type: 'string', short: 'p', value: '<port>', description: 'TCP port (PORT; default 8000; 0 picks a free one).' },
    host: { type: 'string', value: '<host>', description: 'Interface to listen on (HOST; default 0.0.0.0).' },
    'redis-url': { type: 'string', value: '<url>', description: 'Redis to share channels with other processes (REDIS_URL).' },
    ...configOption,
    'no-demos': { type: 'boolean', description: 'Serve only /connect, /ws/{channel}, the HTTP API, health and metrics (HERALD_DEMOS=false).' },
    workers: { type: 'string', value: '<n|auto>', description: 'Server processes on the one port; auto: one per core (HERALD_WORKERS; needs Redis when > 1).' },
  },
  details:
    'Every other setting comes from the configuration file or the environment: see docs/config.md.\n' +
    'Command line beats environment, which beats the file. SIGTERM or SIGINT stops it; with --workers,\n' +
    'SIGHUP replaces the server processes one at a time.',
  async run(parsed) {
    const { options, serve: settings } = settingsFor(parsed);
    const workers = settings.workers === 'auto' ? availableParallelism() : settings.workers;
    if (cluster.isPrimary && workers > 1) {
      if (options.redisUrl === undefined && options.redisClusterNodes === undefined && options.redisSentinels === undefined) {
        throw new ConfigError(
          `${workers} server processes need Redis to share channels: set REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS), --redis-url or redisUrl in the configuration file, or run one process`,
        );
      }
      return runServerProcesses(workers, options.shutdownTimeoutMs);
    }
    const sweepsOnMainThread = sweepOnMainThreadWhenOneCpu();
    // The demo page speaks the Pusher protocol to an app of its own.
    const herald = createHerald(settings.demos ? { ...options, pusherApps: withDemoPusherApp(options.pusherApps) } : options);
    if (settings.demos) installDefaultApp(herald);
    else installCoreApp(herald);
    exitOnSignals(herald);
    try {
      const address = await herald.listen();
      if (settings.demos) herald.log.warn(openDemoNotice(herald));
      herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind}${settings.demos ? '' : ', no demos'})`);
      if (sweepsOnMainThread) herald.log.info('One CPU available: the garbage collector sweeps on the main thread, not on a background thread that would wait for the CPU');
      if (cluster.isWorker) process.send?.({ herald: 'listening', url: address.url });
    } catch (error) {
      herald.log.fatal({ err: error }, 'could not start');
      return 1;
    }
    return new Promise<number>(() => {});
  },
};
