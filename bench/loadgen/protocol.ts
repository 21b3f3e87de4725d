/** The commands a load-generator process takes over IPC, and what it answers. */
export type ClientProtocol = 'ws' | 'socketio' | 'connect' | 'pusher';

/**
 * The Pusher protocol target's app and the Herald channel its `fanout` is: subscribers speak the
 * Pusher protocol on `/app/<key>`, the publisher publishes through `/ws/<Herald channel>`.
 */
export const BENCH_PUSHER_APP = { id: 'bench', key: 'bench-key', secret: 'bench-secret-not-used' };
export function pusherHeraldChannel(channel: string): string {
  return `pusher:${BENCH_PUSHER_APP.id}:${channel}`;
}

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ConnectRequest {
  op: 'connect';
  protocol: ClientProtocol;
  /** Connection i goes to servers[i % servers.length]. */
  servers: ServerAddress[];
  /** One entry per connection: the channel it subscribes to. */
  channels: string[];
  /** Source addresses (127.0.0.x); `perAddress` consecutive connections share one. */
  localAddresses: string[];
  perAddress: number;
  /** Handshakes in flight at once. */
  concurrency: number;
}

export interface ConnectResult {
  /** Index of the first connection opened by this request. */
  first: number;
  ready: number;
  failed: number;
  ms: number;
}

export interface PublishRequest {
  op: 'publish';
  protocol: ClientProtocol;
  /**
   * `socket`: frames on one publisher connection; `http`: POST /api/publish, pipelined; `each`:
   * every open subscriber connection of this worker publishes on its own channel, in turn (the
   * per-user pattern: clients publish on the channel of their own socket).
   */
  mode: 'socket' | 'http' | 'each';
  server: ServerAddress;
  /** Publications go to these channels in turn (`each`: unused, each connection's own channel). */
  channels: string[];
  /** Publications per second (`each`: in total, over all the connections). */
  rate: number;
  durationMs: number;
  httpConnections?: number;
}

export interface PublishResult {
  /** Sequence numbers [from, to) were published. */
  from: number;
  to: number;
  sent: number;
  ms: number;
  /** HTTP publications that were not answered 2xx. */
  errors: number;
}

export interface Report {
  /** Deliveries counted since the last reset (each sequence number once per connection). */
  received: number;
  duplicates: number;
  open: number;
  /** Open connections that received nothing since the reset. */
  none: number;
  /** Open connections that received fewer than `expectedPerConnection`. */
  short: number;
  closes: Record<string, number>;
  histogram: Array<[number, number]>;
}

export type WorkerRequest =
  | ConnectRequest
  | PublishRequest
  | { op: 'reset'; from: number }
  | { op: 'report'; expectedPerConnection?: number | undefined }
  | { op: 'close'; first: number; count: number }
  | { op: 'nextSeq' }
  | { op: 'exit' };
