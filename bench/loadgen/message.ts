/**
 * The published payload: `@<seq>,<sent µs>,` padded to 100 bytes. `seq` numbers every publication
 * of a run (loss and duplicates per subscriber); the send time is CLOCK_MONOTONIC (process.hrtime),
 * which every process on the machine shares, so a receiver in another process subtracts it directly.
 * It is plain text so that each target passes it through untouched, whatever wraps it
 * (Socket.IO's `42["message","@..."]`).
 */
export const PAYLOAD_BYTES = 100;
const PAD = 'x'.repeat(PAYLOAD_BYTES);
const AT = 0x40;
const COMMA = 0x2c;

/** Microseconds on the machine-wide monotonic clock. */
export function nowMicros(): number {
  const [seconds, nanos] = process.hrtime();
  return seconds * 1e6 + Math.floor(nanos / 1000);
}

export function makePayload(seq: number): string {
  const head = `@${seq},${nowMicros()},`;
  return head + PAD.slice(head.length);
}

export interface Stamp {
  seq: number;
  sentMicros: number;
}

const stamp: Stamp = { seq: -1, sentMicros: 0 };

/**
 * Reads seq and send time from `chunk[start..end)` without allocating; `seq` is -1 when the frame
 * holds no payload of ours (a protocol frame). The returned object is reused by every call.
 */
export function readStamp(chunk: Buffer, start: number, end: number): Stamp {
  stamp.seq = -1;
  let i = chunk.indexOf(AT, start);
  if (i === -1 || i >= end) return stamp;
  let seq = 0;
  for (i++; i < end && chunk[i] !== COMMA; i++) seq = seq * 10 + (chunk[i]! - 48);
  let sent = 0;
  for (i++; i < end && chunk[i] !== COMMA; i++) sent = sent * 10 + (chunk[i]! - 48);
  if (i >= end) return stamp;
  stamp.seq = seq;
  stamp.sentMicros = sent;
  return stamp;
}
