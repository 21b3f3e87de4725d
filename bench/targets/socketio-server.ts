import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { createPublishServer } from './publish-server.ts';
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

const http = createPublishServer((channel, data) => void io.to(channel).emit('message', data));

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
