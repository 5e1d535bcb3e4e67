import { DateTime } from 'luxon';

/**
 * The API's usual form, in UTC: `2026-06-01T12:00:00Z`, with an optional fraction. For it, the
 * ECMAScript date-time format (what Date.parse reads) and ISO 8601 agree exactly, and Date.parse
 * is about thirty times faster than luxon on the hot path (two times per record).
 */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/**
 * Epoch ms of an ISO-8601 time, or undefined for anything else (never NaN). A time without a
 * zone is UTC, whatever this host's zone (Date.parse would read it as host-local time: on a
 * non-UTC host, re-read records would get another time, and another identity).
 */
export function parseIsoTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (CANONICAL_UTC.test(value)) {
    const ms = Date.parse(value);
    // Date.parse rolls "02-30" over to March; an exact round trip proves the fields were valid.
    if (!Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === value.slice(0, 19)) return ms;
  }
  return parseWithLuxon(value);
}

/** Strict ISO 8601 (luxon), UTC when no zone is given; a time alone (no date) is refused. */
function parseWithLuxon(value: string): number | undefined {
  // luxon reads "12:00" as today's noon: a record time must carry its date.
  if (!/^[+-]?\d{4}/.test(value)) return undefined;
  const time = DateTime.fromISO(value, { zone: 'utc' });
  return time.isValid ? time.toMillis() : undefined;
}
