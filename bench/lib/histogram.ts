/**
 * Latency histogram: 10 µs buckets up to 10 ms, then 1 ms buckets up to 10 s (anything slower
 * lands in the last bucket). Fixed size, so recording a million samples a second allocates nothing,
 * and histograms from several load-generator processes add up bucket by bucket.
 */
const FINE = 1000; // 10 µs × 1000 = 10 ms
const COARSE = 9990; // 1 ms × 9990 → 10 s
export const BUCKETS = FINE + COARSE;

export function bucketOf(micros: number): number {
  if (micros < 0) return 0;
  if (micros < 10_000) return Math.floor(micros / 10);
  return Math.min(FINE + Math.floor((micros - 10_000) / 1000), BUCKETS - 1);
}

/** Upper bound of a bucket, in ms. */
function bucketMs(bucket: number): number {
  return bucket < FINE ? ((bucket + 1) * 10) / 1000 : 10 + (bucket - FINE + 1);
}

/** Non-empty buckets as [index, count] pairs, for sending over IPC. */
export function sparse(histogram: Uint32Array): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < histogram.length; i++) if (histogram[i]! > 0) pairs.push([i, histogram[i]!]);
  return pairs;
}

export function merge(parts: Array<Array<[number, number]>>): Uint32Array {
  const histogram = new Uint32Array(BUCKETS);
  for (const pairs of parts) for (const [i, n] of pairs) histogram[i]! += n;
  return histogram;
}

/** The q-quantile (0..1) in ms, or NaN for an empty histogram. */
export function quantileMs(histogram: Uint32Array, q: number): number {
  let total = 0;
  for (let i = 0; i < histogram.length; i++) total += histogram[i]!;
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return bucketMs(i);
  }
  return bucketMs(histogram.length - 1);
}

/** Highest recorded value in ms (the last socket to get a message). */
export function maxMs(histogram: Uint32Array): number {
  for (let i = histogram.length - 1; i >= 0; i--) if (histogram[i]! > 0) return bucketMs(i);
  return Number.NaN;
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
