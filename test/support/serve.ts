import type { Herald } from '../../src/herald.ts';

/**
 * What src/cli.ts does for the default app, for a test app in a spawned process: listen, print the
 * start line spawnHerald waits for, and shut down cleanly on SIGTERM / SIGINT.
 */
export async function serveUntilSignalled(herald: Herald): Promise<void> {
  const shutdown = (): void => {
    setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
    herald.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  const address = await herald.listen();
  herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind})`);
}
