import { connect as tcpConnect, type Socket } from 'node:net';
import { BUCKETS, bucketOf, sparse } from '../lib/histogram.ts';
import { makePayload, nowMicros, readStamp } from './message.ts';
import { RawWebSocket } from './raw-websocket.ts';
import { BENCH_PUSHER_APP, pusherHeraldChannel, type ConnectRequest, type ConnectResult, type PublishRequest, type PublishResult, type Report, type WorkerRequest } from './protocol.ts';

/**
 * One load-generator process (started by LoadWorker, pinned to the load CPU): holds subscriber
 * connections and counts what they receive, and/or publishes at a fixed rate. Commands arrive over
 * IPC; every reply carries the request's id.
 */

// ---- subscribers ---------------------------------------------------------------------------
const sockets: Array<RawWebSocket | undefined> = [];
/** The channel each connection subscribed to (its index is the connection's). */
const socketChannels: string[] = [];
let received = new Uint32Array(1024);
let lastSeq = new Float64Array(1024);
let histogram = new Uint32Array(BUCKETS);
let countFrom = Number.POSITIVE_INFINITY;
let total = 0;
let duplicates = 0;
const closes = new Map<number, number>();

function grow(size: number): void {
  if (size <= received.length) return;
  let length = received.length;
  while (length < size) length *= 2;
  const r = new Uint32Array(length);
  r.set(received);
  received = r;
  const l = new Float64Array(length).fill(-1);
  l.set(lastSeq);
  lastSeq = l;
}

function onPayload(index: number, chunk: Buffer, start: number, end: number): void {
  const stamp = readStamp(chunk, start, end);
  if (stamp.seq < countFrom) return;
  if (stamp.seq <= lastSeq[index]!) {
    duplicates++;
    return;
  }
  lastSeq[index] = stamp.seq;
  received[index]!++;
  total++;
  histogram[bucketOf(nowMicros() - stamp.sentMicros)]!++;
}

async function connectAll(request: ConnectRequest): Promise<ConnectResult> {
  const first = sockets.length;
  const count = request.channels.length;
  grow(first + count);
  lastSeq.fill(-1, first, first + count);
  let next = 0;
  let ready = 0;
  let failed = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    if (count === 0) return resolve();
    const settle = (ok: boolean): void => {
      if (ok) ready++;
      else failed++;
      if (ready + failed === count) resolve();
      else if (next < count) open(next++);
    };
    const open = (i: number): void => {
      const index = first + i;
      const server = request.servers[i % request.servers.length]!;
      const localAddress = request.localAddresses[Math.floor(i / request.perAddress) % request.localAddresses.length];
      socketChannels[index] = request.channels[i]!;
      openSubscriber(index, request.protocol, server, request.channels[i]!, localAddress, settle);
    };
    for (; next < Math.min(request.concurrency, count); next++) open(next);
  });
  return { first, ready, failed, ms: performance.now() - started };
}

function openSubscriber(
  index: number,
  protocol: ConnectRequest['protocol'],
  server: { host: string; port: number },
  channel: string,
  localAddress: string | undefined,
  settle: (ok: boolean) => void,
): void {
  let settled = false;
  const done = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    settle(ok);
  };
  const timer = setTimeout(() => {
    socket.destroy();
    done(false);
  }, 30_000);
  const path =
    protocol === 'ws' ? `/ws/${channel}` : protocol === 'connect' ? '/connect?protocol=1' : protocol === 'pusher' ? `/app/${BENCH_PUSHER_APP.key}?protocol=7` : '/socket.io/?EIO=4&transport=websocket';
  const socket: RawWebSocket = new RawWebSocket(
    { host: server.host, port: server.port, path, localAddress },
    protocol === 'pusher'
      ? {
          // The Pusher protocol: connection_established, then subscribe; subscription_succeeded means
          // it is live. Every frame starts `{"event":"`; publications are `herald:publication` events.
          onOpen: () => {},
          onText: (chunk, start, end) => {
            const first = chunk[start + 10];
            if (first === 0x68 /* h */) onPayload(index, chunk, start, end);
            else if (chunk.toString('latin1', start + 10, start + 39) === 'pusher:connection_established') socket.sendText(`{"event":"pusher:subscribe","data":{"channel":"${channel}"}}`);
            else if (chunk.toString('latin1', start + 10, start + 48) === 'pusher_internal:subscription_succeeded') done(true);
          },
          onClose: (code) => closed(index, code, done),
        }
      : protocol === 'connect'
      ? {
          // Herald's /connect: welcome, then subscribe (id 1); its reply means the subscription is live.
          onOpen: () => {},
          onText: (chunk, start, end) => {
            if (chunk[start + 9] === 0x70 /* {"type":"pub */ && chunk[start + 10] === 0x75) onPayload(index, chunk, start, end);
            else if (chunk.toString('latin1', start, start + 18) === '{"type":"welcome",') socket.sendText(`{"op":"subscribe","id":1,"channel":"${channel}"}`);
            else if (chunk.toString('latin1', start, start + 23) === '{"type":"reply","id":1,') done(chunk.indexOf('"result"', start) !== -1 && chunk.indexOf('"result"', start) < end);
          },
          onClose: (code) => closed(index, code, done),
        }
      : protocol === 'ws'
      ? {
          onOpen: () => done(true),
          onText: (chunk, start, end) => onPayload(index, chunk, start, end),
          onClose: (code) => closed(index, code, done),
        }
      : {
          onOpen: () => {},
          onText: (chunk, start, end) => {
            // Engine.IO packets: 0 open, 2 ping, 4 message; Socket.IO inside: 0 connect, 2 event, 3 ack.
            const type = chunk[start];
            if (type === 0x34 /* 4 */) {
              const inner = chunk[start + 1];
              if (inner === 0x32 /* 2: event */) onPayload(index, chunk, start, end);
              else if (inner === 0x30 /* 0: connected */) socket.sendText(`421["join","${channel}"]`);
              else if (inner === 0x33 /* 3: ack of join */) done(true);
            } else if (type === 0x32 /* 2: ping */) socket.sendText('3');
            else if (type === 0x30 /* 0: open */) socket.sendText('40');
          },
          onClose: (code) => closed(index, code, done),
        },
  );
  sockets[index] = socket;
}

function closed(index: number, code: number, done: (ok: boolean) => void): void {
  closes.set(code, (closes.get(code) ?? 0) + 1);
  sockets[index] = undefined;
  done(false);
}

function report(expectedPerConnection: number | undefined): Report {
  let open = 0;
  let none = 0;
  let short = 0;
  for (let i = 0; i < sockets.length; i++) {
    if (sockets[i] === undefined) continue;
    open++;
    if (received[i] === 0) none++;
    if (expectedPerConnection !== undefined && received[i]! < expectedPerConnection) short++;
  }
  return { received: total, duplicates, open, none, short, closes: Object.fromEntries(closes), histogram: sparse(histogram) };
}

function reset(from: number): void {
  countFrom = from;
  total = 0;
  duplicates = 0;
  received.fill(0);
  histogram = new Uint32Array(BUCKETS);
}

// ---- publisher ------------------------------------------------------------------------------
let seq = 0;
let publisherSocket: RawWebSocket | undefined;
let http: HttpPipeline | undefined;

async function openPublisher(request: PublishRequest): Promise<void> {
  if (request.mode === 'http') {
    http ??= new HttpPipeline(request.server, request.httpConnections ?? 8);
    return;
  }
  if (publisherSocket?.isOpen) return;
  await new Promise<void>((resolve, reject) => {
    const socketio = request.protocol === 'socketio';
    const path = socketio
      ? '/socket.io/?EIO=4&transport=websocket'
      : request.protocol === 'connect'
        ? '/connect?protocol=1'
        : request.protocol === 'pusher'
          ? `/ws/${pusherHeraldChannel(request.channels[0]!)}`
          : `/ws/${request.channels[0]}`;
    const socket: RawWebSocket = new RawWebSocket(
      { host: request.server.host, port: request.server.port, path },
      {
        onOpen: () => {
          if (!socketio) resolve();
        },
        onText: (chunk, start) => {
          if (!socketio) return;
          const type = chunk[start];
          if (type === 0x30) socket.sendText('40');
          else if (type === 0x32) socket.sendText('3');
          else if (type === 0x34 && chunk[start + 1] === 0x30) resolve();
        },
        onClose: (code) => reject(new Error(`publisher socket closed (${code})`)),
      },
    );
    publisherSocket = socket;
  });
}

function publishOne(request: PublishRequest, channel: string): void {
  const payload = makePayload(seq++);
  if (request.mode === 'http') http!.publish(channel, payload);
  else sendPublication(publisherSocket!, request.protocol, channel, payload);
}

/** One publication as a client frame of `protocol` (for `ws`, the text itself on /ws/<channel>). */
function sendPublication(socket: RawWebSocket, protocol: PublishRequest['protocol'], channel: string, payload: string): void {
  if (protocol === 'socketio') socket.sendText(`42["publish","${channel}","${payload}"]`);
  else if (protocol === 'connect') socket.sendText(`{"op":"publish","channel":"${channel}","data":"${payload}"}`);
  else socket.sendText(payload);
}

/** Mode `each`: the next open connection after `cursor` publishes on its own channel. */
let cursor = -1;
function publishFromNextSocket(request: PublishRequest): boolean {
  for (let tried = 0; tried < sockets.length; tried++) {
    cursor = (cursor + 1) % sockets.length;
    const socket = sockets[cursor];
    if (socket?.isOpen !== true) continue;
    sendPublication(socket, request.protocol, socketChannels[cursor]!, makePayload(seq++));
    return true;
  }
  return false;
}

async function publish(request: PublishRequest): Promise<PublishResult> {
  if (request.mode !== 'each') await openPublisher(request);
  const from = seq;
  const channels = request.channels;
  let sent = 0;
  const started = performance.now();
  const total = Math.round((request.rate * request.durationMs) / 1000);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - started;
      const due = Math.min(total, Math.floor((request.rate * elapsed) / 1000) + 1);
      if (request.mode === 'each') {
        for (; sent < due; sent++) if (!publishFromNextSocket(request)) break;
        if (sent < due) sent = total; // no connection left open: the step ends, and counts as lost what was not sent
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
        return;
      }
      const socket = publisherSocket?.socket;
      socket?.cork();
      for (; sent < due; sent++) publishOne(request, channels[sent % channels.length]!);
      http?.flush();
      socket?.uncork();
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 5);
    tick();
  });
  const ms = performance.now() - started;
  const errors = request.mode !== 'http' || http === undefined ? 0 : await http.settle(10_000);
  return { from, to: seq, sent, ms, errors };
}

interface HttpConnection {
  socket: Socket;
  pending: number;
  buffer: string;
  out: string;
  closed: boolean;
}

/**
 * `POST /api/publish` over a few keep-alive connections, pipelined: a publisher at 10,000
 * requests/s on a shared core cannot afford a request object and a round trip per publication.
 */
class HttpPipeline {
  readonly #connections: HttpConnection[] = [];
  #next = 0;
  #errors = 0;
  #waiting = 0;

  constructor(readonly server: { host: string; port: number }, count: number) {
    for (let i = 0; i < count; i++) this.#connections.push(this.#open());
  }

  /**
   * A keep-alive connection the server closed while idle (Herald after HERALD_HTTP_KEEP_ALIVE_TIMEOUT_MS,
   * 5 s by default) is replaced before the next request: written to, it would fail every publication
   * of a step that comes after a pause longer than that.
   */
  #open(): HttpConnection {
    const socket = tcpConnect({ host: this.server.host, port: this.server.port });
    socket.setNoDelay(true);
    const connection: HttpConnection = { socket, pending: 0, buffer: '', out: '', closed: false };
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => this.#responses(connection, text));
    socket.on('error', () => {});
    socket.on('close', () => {
      connection.closed = true;
      this.#errors += connection.pending;
      this.#waiting -= connection.pending;
      connection.pending = 0;
    });
    return connection;
  }

  publish(channel: string, data: string): void {
    const body = `{"channel":"${channel}","data":"${data}"}`;
    const index = this.#next++ % this.#connections.length;
    let connection = this.#connections[index]!;
    if (connection.closed) connection = this.#connections[index] = this.#open();
    connection.out += `POST /api/publish HTTP/1.1\r\nHost: ${this.server.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    connection.pending++;
    this.#waiting++;
  }

  flush(): void {
    for (const connection of this.#connections) {
      if (connection.out.length > 0) connection.socket.write(connection.out, 'latin1');
      connection.out = '';
    }
  }

  /** Waits for every answer; returns how many requests did not get a 2xx. */
  async settle(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.#waiting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const errors = this.#errors + Math.max(0, this.#waiting);
    this.#errors = 0;
    return errors;
  }

  #responses(connection: { pending: number; buffer: string }, text: string): void {
    let buffer = connection.buffer + text;
    for (;;) {
      const headerEnd = buffer.indexOf('\r\n\r\n');
      if (headerEnd === -1) break;
      const lengthMatch = /content-length: *(\d+)/i.exec(buffer.slice(0, headerEnd));
      const end = headerEnd + 4 + (lengthMatch ? Number(lengthMatch[1]) : 0);
      if (end > buffer.length) break;
      if (buffer.charCodeAt(9) !== 0x32 /* 2xx */) this.#errors++;
      connection.pending--;
      this.#waiting--;
      buffer = buffer.slice(end);
    }
    connection.buffer = buffer;
  }
}

// ---- commands -------------------------------------------------------------------------------
process.on('disconnect', () => process.exit(0));
process.on('message', async (message: WorkerRequest & { id: number }) => {
  const reply = (result: unknown): void => {
    process.send!({ id: message.id, result });
  };
  try {
    switch (message.op) {
      case 'connect':
        return reply(await connectAll(message));
      case 'reset':
        reset(message.from);
        return reply(null);
      case 'report':
        return reply(report(message.expectedPerConnection));
      case 'close': {
        for (let i = message.first; i < message.first + message.count; i++) sockets[i]?.close();
        return reply(null);
      }
      case 'nextSeq':
        return reply(seq);
      case 'publish':
        return reply(await publish(message));
      case 'exit':
        reply(null);
        for (const socket of sockets) socket?.destroy();
        setTimeout(() => process.exit(0), 50);
        return;
    }
  } catch (error) {
    process.send!({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
process.send!({ id: 0, result: 'ready' });
