import type { Herald } from '../herald.ts';

/**
 * SIGTERM / SIGINT: close the server (sockets get 1001, running tasks a chance to finish) and exit 0,
 * or 1 if closing failed. Never hangs on the way out: the exit is forced 2 s after the shutdown
 * timeout, by which time every socket has had its close frame.
 */
export function exitOnSignals(herald: Herald, what = 'server'): void {
  const shutdown = (signal: string): void => {
    herald.log.info({ signal }, `${what} shutting down`);
    setTimeout(() => process.exit(1), herald.options.shutdownTimeoutMs + 2000).unref();
    herald.close().then(
      () => process.exit(0),
      (error: unknown) => {
        herald.log.error({ err: error }, `${what} shutdown failed`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
