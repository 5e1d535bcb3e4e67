import { createHash } from 'node:crypto';

/**
 * A record's identity for dedup: a hash of its whole content, keys sorted, so it does not
 * depend on the order the API lists fields in. mailID alone is not unique (one record per
 * recipient) and policy events have no id at all; two records identical in every field are
 * indistinguishable to any reader of the API, so they are one event.
 */
export function recordKey(stream: string, record: unknown): string {
  return createHash('sha1')
    .update(stream)
    .update('\n')
    .update(canonicalJson(record))
    .digest('base64url')
    .slice(0, 16);
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/**
 * The latest of a record's `genTime` and `timestamp`, epoch ms. The API filters on one of them
 * (undocumented which), so a record counts as "at the window edge" by the later of the two.
 * A record with neither parsable is treated as always at the edge.
 */
export function recordTime(record: unknown): number {
  if (typeof record !== 'object' || record === null) return Number.POSITIVE_INFINITY;
  const { genTime, timestamp } = record as { genTime?: unknown; timestamp?: unknown };
  const gen = parseTime(genTime);
  const ts = parseTime(timestamp);
  if (gen === undefined) return Number.POSITIVE_INFINITY;
  return ts === undefined ? gen : Math.max(gen, ts);
}

function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
