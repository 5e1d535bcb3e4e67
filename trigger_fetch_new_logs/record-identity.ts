import { hash } from 'node:crypto';
import { parseIsoTime } from './iso-time';

/**
 * A record's identity for dedup: a hash of its serialised content (the JSON text the API's
 * record serialises to, fields in the order the API lists them), so the text forwarded and the
 * identity come from one serialisation. mailID alone is not unique (one record per recipient)
 * and policy events have no id at all. Two records identical in every field share an identity:
 * dedup counts occurrences of it (see IdentityLedger), it does not merge them.
 *
 * Field order: the API's order is stable in every sample, but undocumented. A record re-served
 * with its fields in another order gets another identity and is forwarded again: a duplicate,
 * never a loss. (Up to 3.0.0 the identity hashed a key-sorted copy; those identities, kept in a
 * journal or a version-2 checkpoint, no longer match: the records at the window edge are sent
 * once more at the upgrade.)
 * Throws RecordTooDeepError for a record nested deeper than MAX_RECORD_DEPTH.
 */
export function recordKey(stream: string, record: unknown): string {
  return identityOf(stream, serializeRecord(record));
}

/** The identity of a record serialised as `json` (see recordKey). */
export function identityOf(stream: string, json: string): string {
  return hash('sha1', `${stream}\n${json}`, 'base64url').slice(0, 16);
}

/**
 * identityOf for one stream, on the hot path: the same identities, hashing the bytes of
 * `${stream}\n${json}` written into one scratch buffer reused record after record. Joining the
 * two strings made a flat copy of every record's text (about 1.3 KB of garbage per record), and
 * continuing a copy of a prefix hash state built a Hash object (a stream) per record (about
 * 1 KB); here a record leaves only its identity behind.
 */
export class StreamIdentity {
  private readonly prefix: Buffer;
  private scratch: Buffer;

  constructor(private readonly stream: string) {
    this.prefix = Buffer.from(`${stream}\n`);
    this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    this.prefix.copy(this.scratch);
  }

  of(json: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: a text that may not fit is hashed as a join.
    const room = SCRATCH_BYTES - this.prefix.length;
    if (json.length * 3 > room) return identityOf(this.stream, json);
    const length = this.prefix.length + this.scratch.write(json, this.prefix.length, 'utf8');
    return hash('sha1', this.scratch.subarray(0, length), 'base64url').slice(0, 16);
  }
}

/** StreamIdentity's scratch buffer: records up to a third of this (in UTF-16 units) use it. */
const SCRATCH_BYTES = 256 * 1024;

/**
 * The record's JSON text, as forwarded in raw output and hashed for its identity. Throws
 * RecordTooDeepError for a record nested deeper than MAX_RECORD_DEPTH (checked only on texts
 * long enough to hold such nesting: two characters per level at least).
 */
export function serializeRecord(record: unknown): string {
  let json: string | undefined;
  try {
    json = jsonText(record);
  } catch (error) {
    // V8 serialises recursively: nesting deep enough overflows its stack.
    if (error instanceof RangeError) throw new RecordTooDeepError();
    throw error;
  }
  if (json === undefined) return 'null';
  if (json.length >= 2 * MAX_RECORD_DEPTH && deeperThan(record, MAX_RECORD_DEPTH))
    throw new RecordTooDeepError();
  return json;
}

/** JSON.stringify, typed as it behaves: undefined for undefined, a function or a symbol. */
export function jsonText(value: unknown): string | undefined {
  return JSON.stringify(value);
}

/** Whether `value` nests objects or arrays more than `limit` levels deep (no copy, stops early). */
function deeperThan(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  for (const member of Array.isArray(value) ? value : Object.values(value)) {
    if (deeperThan(member, limit - 1)) return true;
  }
  return false;
}

/**
 * JSON with the keys of every object sorted. For plain JSON data (what the API sends) it is a
 * copy with its keys inserted in sorted order, serialised by one native JSON.stringify: the
 * same text as sorting and joining field by field, at a fraction of the strings built (this
 * runs for every record collected).
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value, 0);
  return sorted === NOT_PLAIN ? slowCanonicalJson(value, 0) : JSON.stringify(sorted);
}

/** Deeper than this, a record is not one the API sends: refused before the call stack overflows. */
const MAX_RECORD_DEPTH = 1_000;

/** How deep safeRecordForm keeps a record (API records are three or four levels deep). */
const SAFE_FORM_DEPTH = 64;

/** A record nested deeper than MAX_RECORD_DEPTH: it has no canonical form (see safeRecordForm). */
export class RecordTooDeepError extends Error {
  constructor() {
    super(`the record is nested more than ${MAX_RECORD_DEPTH} levels deep`);
    this.name = 'RecordTooDeepError';
  }
}

/** What replaces a value nested too deep in safeRecordForm. */
export const DEPTH_MARKER = `[cut: nested more than ${SAFE_FORM_DEPTH} levels deep]`;

/**
 * A copy of `value` that any reader can process: JSON data only, nested at most
 * SAFE_FORM_DEPTH levels, deeper values replaced by DEPTH_MARKER. The same input always gives the
 * same copy, so its identity is stable across re-reads. Iterative: no depth can overflow it.
 */
export function safeRecordForm(value: unknown): unknown {
  const limit = SAFE_FORM_DEPTH;
  const root: { value?: unknown } = {};
  const stack: {
    from: unknown;
    into: Record<string, unknown> | unknown[];
    key: string | number;
    depth: number;
  }[] = [{ from: value, into: root, key: 'value', depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { from, into, key, depth } = item;
    const set = (v: unknown): void => {
      (into as Record<string | number, unknown>)[key] = v;
    };
    if (from === null || typeof from === 'string' || typeof from === 'boolean') set(from);
    else if (typeof from === 'number') set(Number.isFinite(from) ? from : null);
    else if (typeof from !== 'object') set(null);
    else if (depth >= limit) set(DEPTH_MARKER);
    else if (Array.isArray(from)) {
      const copy: unknown[] = new Array<unknown>(from.length).fill(null);
      set(copy);
      from.forEach((item, i) => stack.push({ from: item, into: copy, key: i, depth: depth + 1 }));
    } else {
      const copy: Record<string, unknown> = {};
      set(copy);
      for (const k of Object.keys(from)) {
        if (k === '__proto__') continue;
        // Each key takes its place now, filled when popped: the stack pops the last key first,
        // and the copy would list the fields in reverse. The error log's excerpt is the start of
        // this form: it must start with the record's own first fields (genTime, mailID), not
        // with the deep field that made it a poison.
        copy[k] = null;
        stack.push({ from: (from as Record<string, unknown>)[k], into: copy, key: k, depth: depth + 1 });
      }
    }
  }
  return root.value;
}

const NOT_PLAIN = Symbol('not plain JSON data');

/**
 * `value` with every object's keys in sorted order, or NOT_PLAIN where a copy would not
 * serialise like the field-by-field definition: undefined (a member or a hole), functions,
 * symbols, bigints, toJSON, `__proto__`, and index-like keys (objects list those first).
 */
function sortedCopy(value: unknown, depth: number): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return NOT_PLAIN;
  }
  if (depth >= MAX_RECORD_DEPTH) throw new RecordTooDeepError();
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      const copy = sortedCopy(item, depth + 1);
      if (copy === NOT_PLAIN) return NOT_PLAIN;
      items.push(copy);
    }
    return items;
  }
  const object = value as Record<string, unknown>;
  if (typeof object.toJSON === 'function') return NOT_PLAIN;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object).sort()) {
    if (key === '__proto__' || isDigit(key.charCodeAt(0))) return NOT_PLAIN;
    const member = sortedCopy(object[key], depth + 1);
    if (member === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = member;
  }
  return copy;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Anything else (undefined members, holes, toJSON): the field-by-field definition. */
function slowCanonicalJson(value: unknown, depth: number): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (depth >= MAX_RECORD_DEPTH) throw new RecordTooDeepError();
  if (Array.isArray(value)) return `[${value.map((item) => slowCanonicalJson(item, depth + 1)).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map(
      (key) =>
        `${JSON.stringify(key)}:${slowCanonicalJson((value as Record<string, unknown>)[key], depth + 1)}`,
    );
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
  const gen = parseIsoTime(genTime);
  const ts = parseIsoTime(timestamp);
  if (gen === undefined) return Number.POSITIVE_INFINITY;
  return ts === undefined ? gen : Math.max(gen, ts);
}
