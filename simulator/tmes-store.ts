/**
 * The records of one stream, kept sorted by genTime so a window is two binary searches and a
 * page is a slice: per-request work stays O(log n + page) even with a million records stored.
 * Windows on `timestamp` go through a second index, sorted by timestamp, built on first use.
 */
import type { TmesRecord } from './dataset';
import { hash32 } from './seeded-random';

/** Parallel columns (not an array of wrappers): a million records cost no extra objects. */
interface Columns {
  times: number[];
  /** timestamp in ms (genTime when the record has no valid timestamp). */
  stamps: number[];
  items: TmesRecord[];
  /** Insertion sequence per record: a stable identity for per-record decisions (malformed). */
  seqs: number[];
}

interface Entry {
  t: number;
  stamp: number;
  record: TmesRecord;
  seq: number;
}

export type FilterField = 'genTime' | 'timestamp';

/** The records of a window, in the filter field's order: `indexAt(k)` is a store index. */
export interface Span {
  count: number;
  indexAt: (k: number) => number;
}

export class StreamStore {
  private columns: Columns = { times: [], stamps: [], items: [], seqs: [] };
  private nextSeq = 0;
  /** Store indices sorted by (timestamp, index); undefined until a timestamp window asks. */
  private byStamp: number[] | undefined;
  private additions = 0;

  /** Changes whenever records are added (store indices may then move): a key for caches. */
  get version(): number {
    return this.additions;
  }

  get size(): number {
    return this.columns.items.length;
  }

  get records(): readonly TmesRecord[] {
    return this.columns.items;
  }

  timeAt(index: number): number {
    return this.columns.times[index] ?? Number.NaN;
  }

  recordAt(index: number): TmesRecord {
    const record = this.columns.items[index];
    if (record === undefined) throw new RangeError(`no record at index ${index}`);
    return record;
  }

  seqAt(index: number): number {
    return this.columns.seqs[index] ?? -1;
  }

  /** The time `field` filters on, of the record at `index`. */
  filterTimeAt(field: FilterField, index: number): number {
    return (field === 'genTime' ? this.columns.times[index] : this.columns.stamps[index]) ?? Number.NaN;
  }

  add(records: readonly TmesRecord[]): void {
    const incoming = records.map((record, i) => {
      const t = genTimeOf(record, i);
      return { t, stamp: stampOf(record, t), record, seq: this.nextSeq++ };
    });
    if (incoming.length > 0) {
      this.byStamp = undefined;
      this.additions++;
    }
    if (!isSorted(incoming)) incoming.sort((a, b) => a.t - b.t);
    const first = incoming[0];
    if (first === undefined) return;
    const times = this.columns.times;
    const last = times[times.length - 1];
    // Live traffic arrives in order: appending is the common, cheap case.
    if (last === undefined || first.t >= last) {
      for (const entry of incoming) push(this.columns, entry);
      return;
    }
    this.columns = merge(this.columns, incoming);
  }

  /** Indices [from, to) of the records with lo <= genTime <= hi (both bounds inclusive). */
  range(lo: number, hi: number): { from: number; to: number } {
    if (hi < lo) return { from: 0, to: 0 };
    const times = this.columns.times;
    const at = (k: number): number => times[k] ?? Number.POSITIVE_INFINITY;
    return { from: firstIndex(times.length, at, lo, false), to: firstIndex(times.length, at, hi, true) };
  }

  /** The records with lo <= field <= hi (inclusive), in that field's order. */
  span(field: FilterField, lo: number, hi: number): Span {
    if (field === 'genTime') {
      const { from, to } = this.range(lo, hi);
      return { count: to - from, indexAt: (k) => from + k };
    }
    if (hi < lo) return { count: 0, indexAt: () => -1 };
    const order = this.stampOrder();
    const stamps = this.columns.stamps;
    const at = (k: number): number => stamps[order[k] ?? -1] ?? Number.POSITIVE_INFINITY;
    const from = firstIndex(order.length, at, lo, false);
    const to = firstIndex(order.length, at, hi, true);
    return { count: to - from, indexAt: (k) => order[from + k] ?? -1 };
  }

  private stampOrder(): number[] {
    if (this.byStamp === undefined) {
      const stamps = this.columns.stamps;
      this.byStamp = stamps.map((_, i) => i).sort((a, b) => (stamps[a] ?? 0) - (stamps[b] ?? 0) || a - b);
    }
    return this.byStamp;
  }
}

/** First position k in [0, n) whose time is >= bound (or > bound when `strict`); times sorted. */
function firstIndex(n: number, timeAt: (k: number) => number, bound: number, strict: boolean): number {
  let low = 0;
  let high = n;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const t = timeAt(mid);
    if (strict ? t > bound : t >= bound) high = mid;
    else low = mid + 1;
  }
  return low;
}

function push(into: Columns, entry: Entry): void {
  into.times.push(entry.t);
  into.stamps.push(entry.stamp);
  into.items.push(entry.record);
  into.seqs.push(entry.seq);
}

/** Merges sorted `incoming` into sorted `stored`; ties keep stored records first. */
function merge(stored: Columns, incoming: readonly Entry[]): Columns {
  const merged: Columns = { times: [], stamps: [], items: [], seqs: [] };
  let i = 0;
  let j = 0;
  while (i < stored.times.length || j < incoming.length) {
    const next = incoming[j];
    const mine = stored.times[i];
    if (next === undefined || (mine !== undefined && mine <= next.t)) {
      push(merged, {
        t: mine ?? 0,
        stamp: stored.stamps[i] ?? 0,
        record: stored.items[i] ?? {},
        seq: stored.seqs[i] ?? -1,
      });
      i++;
    } else {
      push(merged, next);
      j++;
    }
  }
  return merged;
}

function isSorted(entries: readonly Entry[]): boolean {
  for (let i = 1; i < entries.length; i++) if ((entries[i]?.t ?? 0) < (entries[i - 1]?.t ?? 0)) return false;
  return true;
}

function genTimeOf(record: TmesRecord, index: number): number {
  const value = record.genTime;
  const t = typeof value === 'string' ? parseUtc(value) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new TypeError(
      `record #${index} has no valid genTime (${JSON.stringify(value)}): the simulator filters and sorts on it, so give every record an ISO 8601 genTime`,
    );
  }
  return t;
}

/** A record's timestamp in ms; its genTime when the timestamp is missing or invalid. */
function stampOf(record: TmesRecord, genTime: number): number {
  const value = record.timestamp;
  const t = typeof value === 'string' ? parseUtc(value) : Number.NaN;
  return Number.isNaN(t) ? genTime : t;
}

/** ISO 8601; a time without a zone is UTC (Date.parse would read it as host-local time). */
function parseUtc(text: string): number {
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text) || !text.includes('T');
  return Date.parse(zoned ? text : `${text}Z`);
}

/**
 * Position k of a stable pseudo-random permutation of [0, n): a 4-round Feistel network with
 * cycle walking. O(1) per index, so "random order" pages cost no more than ordered ones and
 * every page of one window sees the same shuffle.
 */
export function shuffledIndex(k: number, n: number, seed: number): number {
  if (n <= 2) return k;
  let bits = Math.ceil(Math.log2(n));
  if (bits % 2 === 1) bits++;
  const half = bits / 2;
  const mask = 2 ** half - 1;
  let x = k;
  do {
    let left = Math.floor(x / 2 ** half);
    let right = x & mask;
    for (let round = 0; round < 4; round++) {
      const mixed = left ^ (hash32(seed, round, right) & mask);
      left = right;
      right = mixed;
    }
    x = left * 2 ** half + right;
  } while (x >= n);
  return x;
}
