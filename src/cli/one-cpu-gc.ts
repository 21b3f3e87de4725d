import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/**
 * On a process that may run on one CPU only (its affinity set by taskset, a cpuset or systemd's
 * CPUAffinity=), sweeps the old generation on the main thread instead of V8's background thread.
 *
 * There the sweeper thread gets the CPU only when the event loop gives it up, so a scavenge that
 * needs swept pages waits for it: measured under fan-out to 1,000 sockets, young-generation pauses
 * of 7 to 36 ms where they are otherwise about 1 ms, and the longer pauses let more objects survive
 * into the old generation, which lengthens the next ones. Sweeping in place costs the same CPU
 * without the waits. Set at run time, this flag takes effect from the next collection; on more
 * than one CPU nothing changes.
 */
export function sweepOnMainThreadWhenOneCpu(): boolean {
  if (availableParallelism() !== 1) return false;
  setFlagsFromString('--no-concurrent-sweeping');
  return true;
}
