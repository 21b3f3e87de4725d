import { shouldReconnect } from '../../../client/errors.ts';
import type { ConnectionState } from './connection-status.ts';

export interface RawSocketHandlers {
  onMessage(text: string): void;
  onState(state: ConnectionState, detail?: string): void;
}

/** Full-jitter exponential backoff: a random wait up to 0.5 s, 1 s, 2 s … capped at 10 s. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(10_000, 500 * 2 ** attempt);
}

/**
 * A WebSocket to one of the default app's plain routes (`/echo`, `/ws/<channel>`, `/async_task/`)
 * that reconnects after the close codes that ask for it (server restart, error, dropped
 * connection) with full-jitter backoff, and gives up after the others (see docs/errors.md).
 * The multiplexed `/connect` protocol has the client SDK for this; these routes predate it.
 */
export class RawSocket {
  readonly #url: string;
  readonly #handlers: RawSocketHandlers;
  readonly #reconnect: boolean;
  #socket: WebSocket | undefined;
  #attempt = 0;
  #stopped = false;

  /** Connects to `path` on this page's server; `reconnect: false` for one-shot sockets. */
  constructor(path: string, handlers: RawSocketHandlers, options: { reconnect?: boolean } = {}) {
    this.#url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
    this.#handlers = handlers;
    this.#reconnect = options.reconnect ?? true;
    this.#open();
  }

  get isOpen(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  /** Sends `text`; false (nothing sent) while the socket is not open. */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    this.#socket!.send(text);
    return true;
  }

  close(): void {
    this.#stopped = true;
    this.#socket?.close(1000);
  }

  #open(): void {
    this.#handlers.onState(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      this.#handlers.onState('connected');
    };
    socket.onmessage = (event) => this.#handlers.onMessage(String(event.data));
    socket.onclose = (event) => {
      if (this.#stopped) return this.#handlers.onState('closed');
      if (!this.#reconnect || !shouldReconnect(event.code)) {
        this.#stopped = true;
        return this.#handlers.onState('closed', event.reason || `code ${event.code}`);
      }
      this.#handlers.onState('reconnecting');
      setTimeout(() => this.#open(), backoffMs(this.#attempt++));
    };
  }
}
