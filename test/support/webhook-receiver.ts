import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  event: { id: string; type: string; time: number; data: any };
}

/**
 * A real HTTP endpoint for webhook tests: records every POST it accepts, answers `status` (200 by
 * default), and can go down (stop listening, so deliveries are refused) and come back on its port.
 */
export interface WebhookRequest {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Every request, also those answered with a failure, in arrival order. */
  readonly requests: WebhookRequest[] = [];
  status = 200;
  /** Chooses the answer by the body and how many times the same body came before (default: `status`). */
  respond: ((body: string, previousAttempts: number) => number) | undefined;
  #server: Server;
  #port = 0;
  readonly #waiters = new Set<() => void>();

  private constructor() {
    this.#server = this.#create();
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.#server.listen(0, '127.0.0.1');
    await once(receiver.#server, 'listening');
    receiver.#port = (receiver.#server.address() as { port: number }).port;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hooks`;
  }

  /** The received events of `type` (all when omitted), optionally only those whose data matches. */
  events(type?: string, match: (data: any) => boolean = () => true): ReceivedWebhook['event'][] {
    return this.received.map((entry) => entry.event).filter((event) => (type === undefined || event.type === type) && match(event.data));
  }

  /** Waits until `check` holds over what was received (re-checked on every request). */
  async until(check: (receiver: WebhookReceiver) => boolean, timeoutMs = 10_000, what = 'webhooks'): Promise<void> {
    if (check(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.requests.map((entry) => [entry.status, entry.body]))}`));
      }, timeoutMs);
      const wake = (): void => {
        if (!check(this)) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      this.#waiters.add(wake);
    });
  }

  /** Stops listening: connections to the port are refused until `up()`. */
  async down(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    this.#server = this.#create();
    this.#server.listen(this.#port, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  async close(): Promise<void> {
    if (!this.#server.listening) return;
    await this.down();
  }

  #create(): Server {
    return createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const status = this.respond?.(body, this.requests.filter((each) => each.body === body).length) ?? this.status;
        this.requests.push({ status, headers: request.headers, body });
        response.statusCode = status;
        response.end();
        if (status >= 200 && status < 300) this.received.push({ headers: request.headers, body, event: JSON.parse(body) });
        for (const wake of [...this.#waiters]) wake();
      });
    });
  }
}
