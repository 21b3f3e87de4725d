import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installProtocolTestApp } from './protocol-app.ts';

// src/cli.ts with the protocol test app, for spawnHerald(env, 'test/support/protocol-server.ts').
const herald = installProtocolTestApp(createHerald(optionsFromEnv()));
const shutdown = (): void => {
  setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
  herald.close().then(() => process.exit(0), () => process.exit(1));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
const address = await herald.listen();
herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind})`);
