/**
 * Server-to-client WebSocket frames, built once and written to many sockets.
 *
 * `ws` frames each `send()` separately for each socket. For fan-out we build the frame (header and
 * payload in one Buffer) once per publication and hand the same Buffer to every subscriber's socket:
 * frames from server to client are unmasked (RFC 6455 §5.1), so the bytes are identical for all.
 */

const OPCODE_TEXT = 0x1;
const FIN = 0x80;

/** Encodes `text` as one final, unmasked text frame. */
export function encodeTextFrame(text: string): Buffer {
  const payloadLength = Buffer.byteLength(text);
  const headerLength = payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + payloadLength);
  frame[0] = FIN | OPCODE_TEXT;
  if (payloadLength < 126) {
    frame[1] = payloadLength;
  } else if (payloadLength < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(payloadLength, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(payloadLength), 2);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}
