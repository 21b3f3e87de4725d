import cluster, { type Worker } from 'node:cluster';

/** How long a replacement waits after a server process died: doubling from 0.25 s up to 30 s. */
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;
/** A process that served this long before dying counts as healthy: its replacement starts at once. */
const HEALTHY_AFTER_MS = 10_000;
/** A replacement that has not started listening by then is given up on during a rolling restart. */
const READY_TIMEOUT_MS = 30_000;

/**
 * `herald serve --workers N`, the primary process: runs N server processes on one port
 * (node:cluster; the primary accepts connections and hands them to the servers in turn) and
 * never serves itself.
 *
 * - A server process that dies is replaced; one that dies again soon after starting is replaced
 *   after a delay that doubles each time, so a crash loop costs little.
 * - SIGHUP replaces them one at a time: the new one is listening before the old one is told to
 *   stop, so the port always has a listener (a deploy: install the new version, then SIGHUP).
 * - SIGTERM / SIGINT stop them all (each closes its sockets with 1001); the primary exits once they
 *   have, or kills what is left after the shutdown timeout and 2 s more.
 */
export function runServerProcesses(count: number, shutdownTimeoutMs: number): Promise<number> {
  const log = (message: string): void => console.log(JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg: message }));
  let stopping = false;
  let replacing = false;
  /** Server processes being replaced on purpose: their exit is not a crash. */
  const retiring = new Set<Worker>();
  /** Per slot: how many of its processes in a row died soon after starting. */
  const quickDeaths = new Map<number, number>();

  const start = (slot: number): Worker => {
    const worker = cluster.fork();
    let listeningSince: number | undefined;
    worker.on('message', (message: { herald?: string }) => {
      if (message?.herald === 'listening') listeningSince = Date.now();
    });
    worker.on('exit', (code, signal) => {
      if (stopping || retiring.delete(worker)) return;
      // Healthy means it served for a while; one that never listened died starting, however long that took.
      const healthy = listeningSince !== undefined && Date.now() - listeningSince >= HEALTHY_AFTER_MS;
      const deaths = healthy ? 0 : (quickDeaths.get(slot) ?? 0);
      quickDeaths.set(slot, deaths + 1);
      const delay = deaths === 0 ? 0 : Math.min(FIRST_RESTART_DELAY_MS * 2 ** (deaths - 1), MAX_RESTART_DELAY_MS);
      log(`server process ${worker.process.pid} exited (${signal ?? code}); starting a new one in ${delay} ms`);
      setTimeout(() => {
        if (!stopping) slots[slot] = start(slot);
      }, delay);
    });
    return worker;
  };

  const slots: Worker[] = [];
  for (let slot = 0; slot < count; slot++) slots.push(start(slot));
  let announced = 0;
  cluster.on('message', (_worker, message: { herald?: string; url?: string }) => {
    if (message?.herald === 'listening' && ++announced === count) log(`Herald on ${message.url} (${count} server processes)`);
  });

  const replaceAll = async (): Promise<void> => {
    if (replacing || stopping) return;
    replacing = true;
    log(`SIGHUP: replacing ${count} server processes one at a time`);
    for (let slot = 0; slot < slots.length && !stopping; slot++) {
      const old = slots[slot]!;
      const fresh = start(slot);
      if (!(await listening(fresh))) {
        log(`the new server process ${fresh.process.pid} did not start listening; keeping ${old.process.pid}`);
        retiring.add(fresh);
        fresh.kill('SIGKILL');
        break;
      }
      slots[slot] = fresh;
      retiring.add(old);
      const exited = new Promise((resolve) => old.once('exit', resolve));
      // A signal, not worker.kill(): that cuts the IPC channel first, and a server process whose
      // channel is cut exits at once instead of closing its sockets.
      old.process.kill('SIGTERM');
      await exited;
    }
    replacing = false;
    log('SIGHUP: server processes replaced');
  };
  process.on('SIGHUP', () => void replaceAll());

  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping ${Object.keys(cluster.workers ?? {}).length} server processes`);
      const all = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      const force = setTimeout(() => {
        for (const worker of all) worker.process.kill('SIGKILL');
        resolve(1);
      }, shutdownTimeoutMs + 2000);
      Promise.all(all.map((worker) => (worker.isDead() ? undefined : new Promise((done) => worker.once('exit', done))))).then(() => {
        clearTimeout(force);
        resolve(0);
      });
      for (const worker of all) worker.process.kill('SIGTERM');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Resolves true once `worker` reports it is listening, false if it exits or takes too long. */
function listening(worker: Worker): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), READY_TIMEOUT_MS);
    const onMessage = (message: { herald?: string }): void => {
      if (message?.herald === 'listening') finish(true);
    };
    const onExit = (): void => finish(false);
    function finish(ok: boolean): void {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(ok);
    }
    worker.on('message', onMessage);
    worker.on('exit', onExit);
  });
}
