import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A real WebSocket client for tests: every received text frame is queued, and `next()` waits for
 * the next one (with a timeout) instead of sleeping.
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  readonly #queue: string[] = [];
  #waiter: { resolve: (text: string) => void; reject: (error: Error) => void } | undefined;
  #closedInfo: Closed | undefined;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_request, response) =>
        reject(Object.assign(new Error(`handshake refused: ${response.statusCode}`), { statusCode: response.statusCode })),
      );
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.#closedInfo = { code, reason: reason.toString() };
        resolve(this.#closedInfo);
        if (this.#waiter) {
          this.#waiter.reject(new Error(`socket closed (${code} ${reason.toString()}) while waiting for a message`));
          this.#waiter = undefined;
        }
      });
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
      if (this.#waiter) {
        const waiter = this.#waiter;
        this.#waiter = undefined;
        waiter.resolve(text);
      } else this.#queue.push(text);
    });
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.opened;
    return client;
  }

  send(data: string | object): void {
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
  }

  /** The next text frame, waiting up to `timeoutMs`. */
  next(timeoutMs = 5000): Promise<string> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.#closedInfo) return Promise.reject(new Error(`socket already closed (${this.#closedInfo.code})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  async nextJson(timeoutMs = 5000): Promise<unknown> {
    return JSON.parse(await this.next(timeoutMs));
  }

  /** The next `count` frames. */
  async take(count: number, timeoutMs = 5000): Promise<string[]> {
    const frames: string[] = [];
    for (let i = 0; i < count; i++) frames.push(await this.next(timeoutMs));
    return frames;
  }

  /** Resolves true if no frame arrives within `ms` (for asserting that something is NOT delivered). */
  async silentFor(ms: number): Promise<boolean> {
    if (this.#queue.length > 0) return false;
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  get pending(): number {
    return this.#queue.length;
  }

  close(code?: number): Promise<Closed> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
    return this.closed;
  }
}
