import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import type { Herald } from '../../src/herald.ts';
import { installTaskTestApp } from './task-app.ts';

// `herald worker` (src/cli/worker.ts) with the task test app, for spawnWorker(env, 'test/support/task-worker.ts').
const herald = installTaskTestApp(createHerald(optionsFromEnv()));
if (process.env.HERALD_TEST_HOLD_OUTCOMES === '1') holdOutcomes(herald);
const shutdown = (): void => {
  setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
  herald.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
await herald.work();
herald.log.info(`Herald worker ready (pid ${process.pid})`);

/**
 * Test-only fault injection (HERALD_TEST_HOLD_OUTCOMES=1): every task outcome this worker is about
 * to publish (BullMQ has recorded it by then) is held; the worker prints `outcome held <id>` and
 * publishes only after SIGUSR2 (printing `outcome publish failed <id>` for each attempt that fails). A test can so kill the worker, or stop Redis, exactly between a
 * task's completion and the push of its outcome.
 */
function holdOutcomes(herald: Herald): void {
  const broker = herald.broker;
  const publish = broker.publish.bind(broker);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  process.once('SIGUSR2', () => release());
  broker.publish = async (channel, json, options) => {
    const data = JSON.parse(json) as { type?: string; id?: string };
    if (!channel.startsWith('task:') || (data.type !== 'completed' && data.type !== 'failed')) return publish(channel, json, options);
    process.stdout.write(`outcome held ${data.id}\n`);
    await released;
    try {
      return await publish(channel, json, options);
    } catch (error) {
      process.stdout.write(`outcome publish failed ${data.id}\n`);
      throw error;
    }
  };
}
