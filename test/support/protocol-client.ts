import { TestClient } from './ws-client.ts';

export type Frame = Record<string, any>;

/**
 * A raw /connect client for protocol tests: `request()` sends a frame with a fresh id and resolves
 * with its reply; every other frame (pushes, replies without id) is kept, in order, for `push()`.
 */
export class ProtocolClient {
  readonly socket: TestClient;
  welcome: Frame = {};
  readonly #others: Frame[] = [];
  #nextId = 1;

  private constructor(socket: TestClient) {
    this.socket = socket;
  }

  static async open(url: string): Promise<ProtocolClient> {
    const client = new ProtocolClient(await TestClient.open(url));
    client.welcome = JSON.parse(await client.socket.next());
    return client;
  }

  /** Sends `frame` with a new id and returns the reply with that id. */
  async request(frame: Frame, timeoutMs = 5000): Promise<Frame> {
    const id = this.#nextId++;
    this.socket.send({ id, ...frame });
    for (;;) {
      const received = JSON.parse(await this.socket.next(timeoutMs)) as Frame;
      if (received.type === 'reply' && received.id === id) return received;
      this.#others.push(received);
    }
  }

  /** Sends raw text and returns the next frame that is a reply (for frames that carry no usable id). */
  async raw(text: string, timeoutMs = 5000): Promise<Frame> {
    this.socket.send(text);
    for (;;) {
      const received = JSON.parse(await this.socket.next(timeoutMs)) as Frame;
      if (received.type === 'reply') return received;
      this.#others.push(received);
    }
  }

  /** The next frame that is not a reply to `request()`. */
  async push(timeoutMs = 5000): Promise<Frame> {
    const kept = this.#others.shift();
    if (kept !== undefined) return kept;
    return JSON.parse(await this.socket.next(timeoutMs)) as Frame;
  }

  /** True if no frame arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    return this.#others.length === 0 && (await this.socket.silentFor(ms));
  }

  close(): Promise<unknown> {
    return this.socket.close();
  }
}
