/** One identity as journaled: how many times it was delivered, and the time that ages it out. */
export type LedgerEntry = readonly [key: string, count: number, time: number];

/**
 * What a stream delivered in its trailing period, as a multiset: identity → how many records
 * with that identity the intake acknowledged. Two records identical in every field are two
 * events; a re-read drops exactly as many occurrences as were delivered. Each identity keeps
 * the latest time it was seen with, bounded by the end of the range it was read in: no later
 * read starting after that time can return it again, so it can then be pruned.
 *
 * Stored compactly: an identity is 16 base64url characters (96 bits of SHA-1), kept as three
 * 32-bit words in a typed-array hash table: 29 bytes a slot, tables at most 75 % full, so about
 * 40–80 bytes per identity (61 measured at 30k), against about 165 for a Map of the hashed
 * strings (a 16-character slice keeps its 27-character digest alive) to small objects. The
 * ledger grows with the tenant's traffic rate: at the 1M-record bench's density it holds up to
 * 27k identities over the three streams. Any other key (from a journal or a version-2
 * checkpoint written by an older release) is kept in a plain Map beside the table; both behave
 * the same, and the journal's format does not change.
 */
export class IdentityLedger {
  private table = new IdentityTable(MIN_CAPACITY);
  private readonly others = new Map<string, { count: number; time: number }>();
  /** The decoded key of the current call: one scratch array, no allocation per record. */
  private readonly words = new Uint32Array(3);

  get size(): number {
    return this.table.live + this.others.size;
  }

  count(key: string): number {
    if (!decodeIdentity(key, this.words)) return this.others.get(key)?.count ?? 0;
    const slot = this.table.find(this.words);
    return slot < 0 ? 0 : (this.table.counts[slot] ?? 0);
  }

  add(key: string, count: number, time: number): void {
    if (!decodeIdentity(key, this.words)) {
      const entry = this.others.get(key);
      if (entry === undefined) this.others.set(key, { count, time });
      else {
        entry.count += count;
        entry.time = Math.max(entry.time, time);
      }
      return;
    }
    const found = this.table.find(this.words);
    if (found >= 0) {
      this.table.counts[found] = (this.table.counts[found] ?? 0) + count;
      this.table.times[found] = Math.max(this.table.times[found] ?? time, time);
      return;
    }
    if (!this.table.hasRoomForOneMore()) this.table = this.table.resized(this.table.live + 1);
    this.table.insert(this.words, count, time);
  }

  /** Forgets identities older than `before`, except those `keep` still needs. Returns how many. */
  prune(before: number, keep: (time: number) => boolean = () => false): number {
    const forget = (time: number): boolean => time < before && !keep(time);
    let pruned = this.table.removeWhere(forget);
    for (const [key, entry] of this.others) {
      if (forget(entry.time)) {
        this.others.delete(key);
        pruned++;
      }
    }
    // Rebuilt when tombstones slow lookups down or the table is far larger than it needs
    // to be (a dense period has aged out): the trailing period's memory follows its size.
    if (pruned > 0 && this.table.needsRebuild()) this.table = this.table.resized(this.table.live);
    return pruned;
  }

  /**
   * The ledger as fresh `[key, count, time]` tuples, in one pass and one array. The tuples are
   * copies, never live state: a batch acknowledged while the snapshot is being written must
   * not change it (its identities belong to the next journal segment).
   */
  snapshot(): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    this.table.forEach((key, count, time) => out.push([key, count, time]));
    this.others.forEach(({ count, time }, key) => {
      out.push([key, count, time]);
    });
    return out;
  }
}

/** Characters of an identity (record-identity.ts: 16 base64url characters of a SHA-1 digest). */
const IDENTITY_LENGTH = 16;
const MIN_CAPACITY = 1_024;
/** At most this share of slots used (live or tombstone): linear probing stays short. */
const MAX_LOAD = 0.75;
/** A resize aims at this load, so a growing ledger doubles rarely. */
const TARGET_LOAD = 0.5;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url character code → its 6 bits; -1 for any other code below 128. */
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

/**
 * Writes the 96 bits of a 16-character base64url identity into `out` (three words, in the
 * order of the characters). False for any other string: it is kept as a string.
 */
export function decodeIdentity(key: string, out: Uint32Array): boolean {
  if (key.length !== IDENTITY_LENGTH) return false;
  // Four groups of four characters, 24 bits each (small-integer arithmetic only).
  const g0 = group(key, 0);
  const g1 = group(key, 4);
  const g2 = group(key, 8);
  const g3 = group(key, 12);
  if ((g0 | g1 | g2 | g3) < 0) return false;
  out[0] = (g0 << 8) | (g1 >>> 16);
  out[1] = ((g1 & 0xffff) << 16) | (g2 >>> 8);
  out[2] = ((g2 & 0xff) << 24) | g3;
  return true;
}

/** The 24 bits of the four characters at `at`, or -1 if one is not base64url. */
function group(key: string, at: number): number {
  const a = sextet(key.charCodeAt(at));
  const b = sextet(key.charCodeAt(at + 1));
  const c = sextet(key.charCodeAt(at + 2));
  const d = sextet(key.charCodeAt(at + 3));
  return (a | b | c | d) < 0 ? -1 : (a << 18) | (b << 12) | (c << 6) | d;
}

function sextet(code: number): number {
  return code < 128 ? (SEXTET[code] ?? -1) : -1;
}

/** The identity `decodeIdentity` read into `words`. */
export function encodeIdentity(words: ArrayLike<number>, offset = 0): string {
  let text = '';
  let acc = 0;
  let bits = 0;
  for (let w = 0; w < 3; w++) {
    acc = acc * 2 ** 32 + (words[offset + w] ?? 0);
    bits += 32;
    while (bits >= 6) {
      bits -= 6;
      const sextet = Math.floor(acc / 2 ** bits);
      text += ALPHABET.charAt(sextet);
      acc -= sextet * 2 ** bits;
    }
  }
  return text;
}

const EMPTY = 0;
const LIVE = 1;
const DELETED = 2;

/**
 * Open addressing with linear probing over SHA-1 bits (uniform: the first word is the hash).
 * Removal leaves a tombstone; the owner rebuilds the table when they pile up.
 */
class IdentityTable {
  readonly keys: Uint32Array;
  readonly counts: Float64Array;
  readonly times: Float64Array;
  private readonly states: Uint8Array;
  private readonly mask: number;
  live = 0;
  private deleted = 0;

  constructor(readonly capacity: number) {
    this.keys = new Uint32Array(capacity * 3);
    this.counts = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.states = new Uint8Array(capacity);
    this.mask = capacity - 1;
  }

  /** The slot holding `words`, or -1. */
  find(words: Uint32Array): number {
    const a = words[0] ?? 0;
    const b = words[1] ?? 0;
    const c = words[2] ?? 0;
    for (let slot = a & this.mask; ; slot = (slot + 1) & this.mask) {
      const state = this.states[slot];
      if (state === EMPTY) return -1;
      if (
        state === LIVE &&
        this.keys[slot * 3] === a &&
        this.keys[slot * 3 + 1] === b &&
        this.keys[slot * 3 + 2] === c
      )
        return slot;
    }
  }

  hasRoomForOneMore(): boolean {
    return this.live + this.deleted + 1 <= this.capacity * MAX_LOAD;
  }

  /** Inserts a key known to be absent (the caller checked room). */
  insert(words: ArrayLike<number>, count: number, time: number, offset = 0): void {
    let slot = (words[offset] ?? 0) & this.mask;
    // A tombstone is reused: the key is absent, so nothing after it can be a duplicate.
    while (this.states[slot] === LIVE) slot = (slot + 1) & this.mask;
    if (this.states[slot] === DELETED) this.deleted--;
    this.states[slot] = LIVE;
    this.keys[slot * 3] = words[offset] ?? 0;
    this.keys[slot * 3 + 1] = words[offset + 1] ?? 0;
    this.keys[slot * 3 + 2] = words[offset + 2] ?? 0;
    this.counts[slot] = count;
    this.times[slot] = time;
    this.live++;
  }

  removeWhere(forget: (time: number) => boolean): number {
    let removed = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.states[slot] === LIVE && forget(this.times[slot] ?? 0)) {
        this.states[slot] = DELETED;
        removed++;
      }
    }
    this.live -= removed;
    this.deleted += removed;
    return removed;
  }

  /**
   * After a prune: tombstones past a quarter of the slots lengthen every probe, and a table
   * whose keys fill less than an eighth of it holds memory a dense period left behind. (Not on
   * load alone: an insert that finds no room rebuilds anyway, and rebuilding a table that is
   * merely full would double it.)
   */
  needsRebuild(): boolean {
    return (
      this.deleted > this.capacity * 0.25 ||
      (this.capacity > MIN_CAPACITY && this.live < this.capacity * TARGET_LOAD * 0.25)
    );
  }

  /** A table of the capacity `entries` need at the target load, holding this one's live keys. */
  resized(entries: number): IdentityTable {
    let capacity = MIN_CAPACITY;
    while (capacity * TARGET_LOAD < entries) capacity *= 2;
    const next = new IdentityTable(capacity);
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.states[slot] === LIVE)
        next.insert(this.keys, this.counts[slot] ?? 0, this.times[slot] ?? 0, slot * 3);
    }
    return next;
  }

  forEach(visit: (key: string, count: number, time: number) => void): void {
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.states[slot] === LIVE)
        visit(encodeIdentity(this.keys, slot * 3), this.counts[slot] ?? 0, this.times[slot] ?? 0);
    }
  }
}
