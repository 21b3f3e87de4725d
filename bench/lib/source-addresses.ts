import { randomInt } from 'node:crypto';

/**
 * Fresh loopback source addresses (127.a.b.c) for one run's connections.
 *
 * A client socket bound to a source address gets its port by a search that skips every port still
 * in TIME_WAIT from earlier runs on that address; after a few runs of thousands of sockets the
 * search dominates and connecting slows down tenfold. Addresses drawn at random from 127/8 start
 * clean every time, and each has the whole ephemeral port range (~28,000 ports) to itself.
 */
export function sourceAddresses(count: number): string[] {
  const addresses = new Set<string>();
  while (addresses.size < count) addresses.add(`127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`);
  return [...addresses];
}

/** Connections per source address: well under the ephemeral port range. */
export const PER_ADDRESS = 10_000;
