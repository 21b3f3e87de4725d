import { connect, type Socket } from 'node:net';

/**
 * The load generator's WebSocket client: a handshake and a frame scanner over a plain TCP socket.
 *
 * The load generator has one core to receive up to a million frames a second; a full client (ws,
 * socket.io-client) spends more per frame than the servers under test, and the bench would then
 * measure itself. This one hands each text payload to the caller as a slice of the received chunk,
 * without copying or decoding it, answers pings, and sends masked frames with a zero mask key
 * (legal, and it leaves the payload unchanged so nothing is XORed).
 */
export interface RawWebSocketHandlers {
  /** A text frame arrived: its payload is `chunk[start..end)` (valid only during the call). */
  onText(chunk: Buffer, start: number, end: number): void;
  onOpen(): void;
  /** The connection ended: a close frame's code, or 1006 when the TCP connection dropped. */
  onClose(code: number): void;
}

export interface RawWebSocketOptions {
  host: string;
  port: number;
  path: string;
  localAddress?: string | undefined;
}

const HANDSHAKE_END = Buffer.from('\r\n\r\n');

export class RawWebSocket {
  readonly socket: Socket;
  #open = false;
  #closed = false;
  #pending: Buffer | undefined;
  readonly #handlers: RawWebSocketHandlers;

  constructor(options: RawWebSocketOptions, handlers: RawWebSocketHandlers) {
    this.#handlers = handlers;
    this.socket = connect({ host: options.host, port: options.port, localAddress: options.localAddress });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: aGVyYWxkLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    this.socket.on('data', (chunk: Buffer) => this.#data(chunk));
    this.socket.on('error', () => this.#end(1006));
    this.socket.on('close', () => this.#end(1006));
  }

  get isOpen(): boolean {
    return this.#open && !this.#closed;
  }

  /** Sends one text frame. */
  sendText(text: string): void {
    if (!this.isOpen) return;
    this.socket.write(maskedFrame(0x1, Buffer.from(text)));
  }

  close(): void {
    if (this.isOpen) this.socket.write(maskedFrame(0x8, Buffer.from([0x03, 0xe8])));
    this.socket.end();
    this.#end(1000);
  }

  destroy(): void {
    this.socket.destroy();
    this.#end(1006);
  }

  #end(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.onClose(code);
  }

  #data(chunk: Buffer): void {
    let buffer = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    let offset = 0;
    if (!this.#open) {
      const end = buffer.indexOf(HANDSHAKE_END);
      if (end === -1) {
        this.#pending = buffer;
        return;
      }
      if (buffer.toString('latin1', 0, 12) !== 'HTTP/1.1 101') {
        this.socket.destroy();
        this.#end(1002);
        return;
      }
      this.#open = true;
      offset = end + 4;
      this.#handlers.onOpen();
    }
    const length = buffer.length;
    while (offset + 2 <= length) {
      const opcode = buffer[offset]! & 0x0f;
      let payloadLength = buffer[offset + 1]! & 0x7f;
      let header = 2;
      if (payloadLength === 126) {
        if (offset + 4 > length) break;
        payloadLength = buffer.readUInt16BE(offset + 2);
        header = 4;
      } else if (payloadLength === 127) {
        if (offset + 10 > length) break;
        payloadLength = Number(buffer.readBigUInt64BE(offset + 2));
        header = 10;
      }
      const start = offset + header;
      const end = start + payloadLength;
      if (end > length) break;
      if (opcode === 0x1 || opcode === 0x0) this.#handlers.onText(buffer, start, end);
      else if (opcode === 0x9) this.socket.write(maskedFrame(0xa, buffer.subarray(start, end)));
      else if (opcode === 0x8) {
        const code = payloadLength >= 2 ? buffer.readUInt16BE(start) : 1005;
        this.socket.end();
        this.#end(code);
        return;
      }
      offset = end;
    }
    if (offset < length) this.#pending = Buffer.from(buffer.subarray(offset));
  }
}

/** A client frame (FIN set) with a zero mask key: the masked payload equals the payload. */
function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? 6 : n < 65536 ? 8 : 14;
  const frame = Buffer.alloc(header + n);
  frame[0] = 0x80 | opcode;
  if (n < 126) frame[1] = 0x80 | n;
  else if (n < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  payload.copy(frame, header);
  return frame;
}
