/**
 * Per-record indexing delay: which bucket of the distribution a record falls in, and where in
 * it, decided by a hash of the seed, the stream and the record's insertion sequence (no state,
 * the same on every run and every request).
 */
import { hash32 } from './seeded-random';
import type { VisibilityOptions } from './tmes-options';

const UNIT = 4294967296;

export function recordDelayMs(
  visibility: VisibilityOptions,
  seed: number,
  stream: number,
  seq: number,
): number {
  const { buckets } = visibility;
  if (buckets.length === 0) return 0;
  const total = buckets.reduce((sum, b) => sum + b.share, 0);
  let roll = (hash32(seed, stream, seq, 0x76) / UNIT) * total;
  let bucket = buckets[buckets.length - 1];
  for (const candidate of buckets) {
    roll -= candidate.share;
    if (roll < 0) {
      bucket = candidate;
      break;
    }
  }
  if (bucket === undefined) return 0;
  const within = hash32(seed, stream, seq, 0x77) / UNIT;
  return bucket.minMs + Math.floor(within * (bucket.maxMs - bucket.minMs + 1));
}
