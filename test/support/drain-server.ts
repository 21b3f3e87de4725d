import { optionsFromEnv } from '../../src/config.ts';
import { createHerald } from '../../src/herald.ts';
import { installProtocolTestApp } from './protocol-app.ts';

// The protocol test app plus a socket route that records when each socket arrives (by this
// process's clock) and `GET /arrivals` to read them: the drain test measures the reconnects the
// other process sees. For spawnHerald(env, 'test/support/drain-server.ts').
const herald = installProtocolTestApp(createHerald(optionsFromEnv()));
let arrivals: number[] = [];
herald.socket('/arrive', () => {
  arrivals.push(Date.now());
});
herald.http.get('/arrivals', async () => {
  const taken = arrivals;
  arrivals = [];
  return taken;
});
// As serveUntilSignalled, also logging how long close() took by this process's own clock, which a
// loaded test process cannot blur.
const shutdown = (): void => {
  const started = Date.now();
  setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
  herald.close().then(
    () => {
      herald.log.info({ closedInMs: Date.now() - started }, 'closed');
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
const address = await herald.listen();
herald.log.info(`Herald on ${address.url} (broker: ${herald.broker.kind})`);
