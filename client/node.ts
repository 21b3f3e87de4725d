/**
 * The SDK for Node versions without a global WebSocket (Node 20): the same API, with the `ws`
 * package injected. Browsers use `herald/client`, which never imports `ws`.
 *
 * @example
 * import { Herald } from 'herald/client/node';
 * const herald = new Herald('ws://127.0.0.1:8000/connect').connect();
 */
import WebSocket from 'ws';
import { Herald as BaseHerald, type HeraldClientOptions } from './herald.ts';
import type { WebSocketConstructor } from './transport.ts';

export * from './index.ts';

export class Herald extends BaseHerald {
  constructor(url: string, options: HeraldClientOptions = {}) {
    super(url, { WebSocket: ((globalThis as { WebSocket?: unknown }).WebSocket ?? WebSocket) as unknown as WebSocketConstructor, ...options });
  }
}
