import type { Duplex } from 'node:stream';

/**
 * Coalesces writes: a socket written to is corked until the end of the current tick, so every
 * frame it gets during one burst of work (one Redis read, one incoming message) leaves in a single
 * writev. An uncorked fan-out manages about 0.12x the throughput of a corked one (field notes).
 */
const corked: Duplex[] = [];
/** Per corked socket: what to run once its burst has been handed to the kernel. */
const flushed: Array<(() => void) | undefined> = [];
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  for (let i = 0; i < corked.length; i++) {
    corked[i]!.uncork();
    flushed[i]?.();
  }
  corked.length = 0;
  flushed.length = 0;
}

/**
 * Writes `frame` to `socket`, corking it for the rest of this tick if it is not already.
 *
 * `afterFlush` runs once the tick's burst has been uncorked. Only then does `writableLength` mean
 * "bytes the peer has not taken": while corked it also counts this tick's burst, so a backlog check
 * made there would close a client that reads perfectly well but got a large burst at once.
 */
export function writeCorked(socket: Duplex & { writableCorked: number }, frame: Buffer, afterFlush?: () => void): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
    flushed.push(afterFlush);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(uncorkAll);
    }
  }
  socket.write(frame);
}
