import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server, so a test can cut every connection through it (a network
 * drop: no close frame, the client sees 1006) while the server stays up, count the connections
 * clients open, and lose a reply on its way back.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #trap: ((chunk: Buffer) => boolean) | undefined;
  #down = false;
  port = 0;
  /** Connections accepted so far (each is one connection attempt of a client). */
  accepted = 0;

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      this.accepted++;
      if (this.#down) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        const trap = this.#trap;
        if (trap !== undefined && trap(chunk)) {
          this.#trap = undefined;
          this.cut();
          return;
        }
        if (!client.write(chunk)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  /** Destroys every connection through the proxy; new ones are still accepted. */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  /**
   * The first chunk from the server for which `matches` is true is never delivered: every
   * connection is cut instead (the server did the work, the client never hears of it).
   */
  cutWhenServerSends(matches: (chunk: Buffer) => boolean): void {
    this.#trap = matches;
  }

  /** Cuts every connection and refuses new ones until `up()`: the server is unreachable. */
  down(): void {
    this.#down = true;
    this.cut();
  }

  up(): void {
    this.#down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
