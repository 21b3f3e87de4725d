import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import { createPublishServer } from './publish-server.ts';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The floor: the smallest plain `ws` server that does the job well. `/ws/<channel>` subscribes a
 * socket to a channel and broadcasts every text frame it sends there; `POST /api/publish
 * {"channel","data"}` publishes a string. Each frame is built once and the same Buffer is written to
 * every socket, corked until the end of the tick. With REDIS_URL, publications go through Redis
 * Pub/Sub (SUBSCRIBE on a channel's first local socket, UNSUBSCRIBE on its last).
 *
 * Env: PORT, REDIS_URL (optional), REDIS_PREFIX.
 */
const port = Number(process.env.PORT ?? 9000);
const redisUrl = process.env.REDIS_URL;
const prefix = process.env.REDIS_PREFIX ?? 'floor:';

const channels = new Map<string, Set<Socket>>();
const corked: Socket[] = [];
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

function frame(payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(out, header);
  return out;
}

function deliver(channel: string, payload: Buffer): void {
  const sockets = channels.get(channel);
  if (sockets === undefined) return;
  const data = frame(payload);
  for (const socket of sockets) {
    if (socket.writableCorked === 0) {
      socket.cork();
      corked.push(socket);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(uncorkAll);
      }
    }
    socket.write(data);
  }
}

let publish: (channel: string, payload: Buffer) => void = deliver;
let subscribe = (_channel: string): void => {};
let unsubscribe = (_channel: string): void => {};

if (redisUrl !== undefined) {
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => deliver(channel.toString().slice(prefix.length), message));
  publish = (channel, payload) => void publisher.publish(prefix + channel, payload);
  subscribe = (channel) => void subscriber.subscribe(prefix + channel);
  unsubscribe = (channel) => void subscriber.unsubscribe(prefix + channel);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
const server = createPublishServer((channel, data) => publish(channel, Buffer.from(data)));

server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
  const channel = request.url?.startsWith('/ws/') ? request.url.slice(4) : '';
  if (channel === '') return void socket.destroy();
  wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
    let sockets = channels.get(channel);
    if (sockets === undefined) {
      channels.set(channel, (sockets = new Set()));
      subscribe(channel);
    }
    sockets.add(socket);
    ws.on('message', (data: Buffer) => publish(channel, data));
    ws.on('error', () => {});
    ws.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && channels.get(channel) === sockets) {
        channels.delete(channel);
        unsubscribe(channel);
      }
    });
  });
});

// An orderly exit on SIGTERM, so that `--cpu-prof` (the bench's `--profile`) writes its profile.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
server.listen(port, '127.0.0.1');
