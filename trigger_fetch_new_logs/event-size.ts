import { INTAKE_MAX_EVENT_BYTES } from '@sekoia/automation-sdk-shim';

/*
 * The intake refuses events over INTAKE_MAX_EVENT_BYTES (250 kB, the intake's limit: the shim
 * that talks to it owns the number). Rather than drop a record (as the Python SDK does), cut
 * its largest values until it fits and say what was cut in `truncated_fields`
 * (path → original size in bytes), so the event still arrives and the cut is visible.
 */

export interface FittedEvent {
  readonly json: string;
  /** Paths that were cut, empty when the event fitted as it was. */
  readonly truncated: readonly string[];
}

const KEEP_CHARS = 1_000;
/** Shared by every event that fits (most): no array per record. */
const NOTHING_CUT: readonly string[] = Object.freeze([]);

export function serializeWithinLimit(value: unknown, maxBytes = INTAKE_MAX_EVENT_BYTES): FittedEvent {
  return fitSerialized(JSON.stringify(value), value, maxBytes);
}

/** As serializeWithinLimit, for a value already serialised as `json` (the hot path serialises once). */
export function fitSerialized(json: string, value: unknown, maxBytes = INTAKE_MAX_EVENT_BYTES): FittedEvent {
  if (json.length * 3 <= maxBytes || Buffer.byteLength(json) <= maxBytes)
    return { json, truncated: NOTHING_CUT };
  if (typeof value !== 'object' || value === null) {
    return { json: JSON.stringify({ truncated_value: truncateString(json, KEEP_CHARS) }), truncated: ['$'] };
  }
  return shrink(structuredClone(value), maxBytes);
}

interface Leaf {
  path: string;
  parent: Record<string, unknown> | unknown[];
  key: string | number;
  bytes: number;
}

function shrink(root: object, maxBytes: number): FittedEvent {
  const sizes: Record<string, number> = {};
  for (let round = 0; round < 50; round++) {
    const marked = Object.keys(sizes).length === 0 ? root : { ...root, truncated_fields: sizes };
    const json = JSON.stringify(marked);
    const bytes = Buffer.byteLength(json);
    if (bytes <= maxBytes) return { json, truncated: Object.keys(sizes) };
    const largest = leaves(root).sort((a, b) => b.bytes - a.bytes)[0];
    if (largest === undefined || largest.bytes <= KEEP_CHARS) break;
    sizes[largest.path] ??= largest.bytes;
    cut(largest, Math.max(KEEP_CHARS, largest.bytes - (bytes - maxBytes) - 1024));
  }
  // Pathological shapes (thousands of small fields): keep a bounded excerpt of the whole.
  const excerpt = truncateString(JSON.stringify(root), Math.floor(maxBytes / 4));
  return { json: JSON.stringify({ truncated_record: excerpt }), truncated: ['$'] };
}

/** Strings and arrays anywhere in the value, with their serialized size. */
function leaves(value: object, path = '', out: Leaf[] = []): Leaf[] {
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  for (const [key, child] of entries) {
    const childPath = path === '' ? String(key) : `${path}.${String(key)}`;
    if (typeof child === 'string') {
      out.push({
        path: childPath,
        parent: value as Record<string, unknown>,
        key,
        bytes: Buffer.byteLength(child),
      });
    } else if (Array.isArray(child)) {
      const bytes = Buffer.byteLength(JSON.stringify(child));
      if (child.length > 1)
        out.push({ path: childPath, parent: value as Record<string, unknown>, key, bytes });
      leaves(child, childPath, out);
    } else if (typeof child === 'object' && child !== null) {
      leaves(child, childPath, out);
    }
  }
  return out;
}

function cut(leaf: Leaf, targetBytes: number): void {
  const parent = leaf.parent as Record<string | number, unknown>;
  const current = parent[leaf.key];
  if (typeof current === 'string') {
    parent[leaf.key] = truncateString(current, Math.max(KEEP_CHARS, Math.floor(targetBytes / 4)));
  } else if (Array.isArray(current)) {
    parent[leaf.key] = current.slice(0, Math.max(1, Math.floor(current.length / 2)));
  }
}

function truncateString(text: string, keepChars: number): string {
  return text.length <= keepChars ? text : `${text.slice(0, keepChars)}…[truncated]`;
}
