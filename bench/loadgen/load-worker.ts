import { LOAD_CPU, spawnPinned, type PinnedChild } from '../lib/children.ts';
import { merge } from '../lib/histogram.ts';
import type { ConnectRequest, ConnectResult, PublishRequest, PublishResult, Report, WorkerRequest } from './protocol.ts';

/** A load-generator process (bench/loadgen/worker.ts) pinned to the load CPU, driven over IPC. */
export class LoadWorker {
  readonly #process: PinnedChild;
  readonly #pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  readonly ready: Promise<void>;

  constructor() {
    this.#process = spawnPinned(LOAD_CPU, process.execPath, ['--import', 'tsx', '--import', './bench/lib/exit-with-parent.ts', '--max-old-space-size=2048', 'bench/loadgen/worker.ts'], {
      ipc: true,
    });
    this.ready = new Promise((resolve, reject) => {
      this.#pending.set(0, { resolve, reject });
    });
    this.#process.child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    });
    this.#process.exited.then((code) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`load generator exited (${code}): ${this.#process.output()}`));
      this.#pending.clear();
    });
  }

  #request<T>(request: WorkerRequest): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#process.child.send({ ...request, id });
    });
  }

  connect(request: Omit<ConnectRequest, 'op'>): Promise<ConnectResult> {
    return this.#request({ op: 'connect', ...request });
  }
  publish(request: Omit<PublishRequest, 'op'>): Promise<PublishResult> {
    return this.#request({ op: 'publish', ...request });
  }
  nextSeq(): Promise<number> {
    return this.#request({ op: 'nextSeq' });
  }
  reset(from: number): Promise<void> {
    return this.#request({ op: 'reset', from });
  }
  report(expectedPerConnection?: number): Promise<Report> {
    return this.#request({ op: 'report', expectedPerConnection });
  }
  close(first: number, count: number): Promise<void> {
    return this.#request({ op: 'close', first, count });
  }
  async exit(): Promise<void> {
    await this.#request({ op: 'exit' }).catch(() => {});
    await this.#process.stop();
  }
}

/** Reports of several workers added up. */
export interface CombinedReport {
  received: number;
  duplicates: number;
  open: number;
  none: number;
  short: number;
  closes: Record<string, number>;
  histogram: Uint32Array;
}

export async function combinedReport(workers: LoadWorker[], expectedPerConnection?: number): Promise<CombinedReport> {
  const reports: Report[] = await Promise.all(workers.map((w) => w.report(expectedPerConnection)));
  const closes: Record<string, number> = {};
  for (const r of reports) for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
  return {
    received: reports.reduce((s, r) => s + r.received, 0),
    duplicates: reports.reduce((s, r) => s + r.duplicates, 0),
    open: reports.reduce((s, r) => s + r.open, 0),
    none: reports.reduce((s, r) => s + r.none, 0),
    short: reports.reduce((s, r) => s + r.short, 0),
    closes,
    histogram: merge(reports.map((r) => r.histogram)),
  };
}
