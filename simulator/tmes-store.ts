/**
 * The records of one stream, kept sorted by genTime so a window is two binary searches and a
 * page is a slice: per-request work stays O(log n + page) even with a million records stored.
 */
import type { TmesRecord } from './dataset';
import { hash32 } from './seeded-random';

/** Parallel columns (not an array of wrappers): a million records cost no extra objects. */
interface Columns {
  times: number[];
  items: TmesRecord[];
  /** Insertion sequence per record: a stable identity for per-record decisions (malformed). */
  seqs: number[];
}

interface Entry {
  t: number;
  record: TmesRecord;
  seq: number;
}

export class StreamStore {
  private columns: Columns = { times: [], items: [], seqs: [] };
  private nextSeq = 0;

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

  add(records: readonly TmesRecord[]): void {
    const incoming = records.map((record, i) => ({ t: genTimeOf(record, i), record, seq: this.nextSeq++ }));
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
    return { from: this.firstIndex((t) => t >= lo), to: this.firstIndex((t) => t > hi) };
  }

  private firstIndex(isAfter: (t: number) => boolean): number {
    let low = 0;
    let high = this.columns.times.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (isAfter(this.columns.times[mid] ?? Number.POSITIVE_INFINITY)) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}

function push(into: Columns, entry: Entry): void {
  into.times.push(entry.t);
  into.items.push(entry.record);
  into.seqs.push(entry.seq);
}

/** Merges sorted `incoming` into sorted `stored`; ties keep stored records first. */
function merge(stored: Columns, incoming: readonly Entry[]): Columns {
  const merged: Columns = { times: [], items: [], seqs: [] };
  let i = 0;
  let j = 0;
  while (i < stored.times.length || j < incoming.length) {
    const next = incoming[j];
    const mine = stored.times[i];
    if (next === undefined || (mine !== undefined && mine <= next.t)) {
      push(merged, { t: mine ?? 0, record: stored.items[i] ?? {}, seq: stored.seqs[i] ?? -1 });
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
  const t = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) {
    throw new TypeError(
      `record #${index} has no valid genTime (${JSON.stringify(value)}): the simulator filters and sorts on it, so give every record an ISO 8601 genTime`,
    );
  }
  return t;
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
