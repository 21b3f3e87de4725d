import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

/**
 * Socket.IO 4 as people deploy it across processes: @socket.io/redis-adapter, WebSocket transport
 * only, a room per channel. `join` (acknowledged) enters a room, `publish(channel, data)` emits
 * `message` to the room, and `POST /api/publish {"channel","data"}` does the same over HTTP.
 *
 * Env: PORT, REDIS_URL, REDIS_PREFIX.
 */
const port = Number(process.env.PORT ?? 9000);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const http = createServer((request: IncomingMessage, response: ServerResponse) => {
  if (request.method === 'GET' && request.url === '/healthz') return void response.end('{"ok":true}');
  if (request.method !== 'POST' || request.url !== '/api/publish') {
    response.statusCode = 404;
    return void response.end();
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { channel: string; data: string };
    io.to(body.channel).emit('message', body.data);
    response.setHeader('content-type', 'application/json');
    response.end('{"ok":true}');
  });
});

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  adapter: createAdapter(pub, sub, { key: process.env.REDIS_PREFIX ?? 'socket.io' }),
});

io.on('connection', (socket) => {
  socket.on('join', (channel: string, ack?: () => void) => {
    socket.join(channel);
    ack?.();
  });
  socket.on('publish', (channel: string, data: string) => {
    io.to(channel).emit('message', data);
  });
});

http.listen(port, '127.0.0.1');
