/** One identity as journaled: how many times it was delivered, and the time that ages it out. */
export type LedgerEntry = readonly [key: string, count: number, time: number];

/**
 * What a stream delivered in its trailing period, as a multiset: identity → how many records
 * with that identity the intake acknowledged. Two records identical in every field are two
 * events; a re-read drops exactly as many occurrences as were delivered. Each identity keeps
 * the latest time it was seen with, bounded by the end of the range it was read in: no later
 * read starting after that time can return it again, so it can then be pruned.
 */
export class IdentityLedger {
  private readonly entries = new Map<string, { count: number; time: number }>();

  get size(): number {
    return this.entries.size;
  }

  count(key: string): number {
    return this.entries.get(key)?.count ?? 0;
  }

  add(key: string, count: number, time: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) this.entries.set(key, { count, time });
    else {
      entry.count += count;
      entry.time = Math.max(entry.time, time);
    }
  }

  /** Forgets identities older than `before`, except those `keep` still needs. Returns how many. */
  prune(before: number, keep: (time: number) => boolean = () => false): number {
    let pruned = 0;
    for (const [key, entry] of this.entries) {
      if (entry.time < before && !keep(entry.time)) {
        this.entries.delete(key);
        pruned++;
      }
    }
    return pruned;
  }

  /**
   * The ledger as fresh `[key, count, time]` tuples, in one pass and one array: at a dense
   * trailing period a compaction snapshots tens of thousands of identities, and each
   * intermediate array (the Map's pairs, a re-mapped copy) cost a few MiB short-lived. The
   * tuples are copies, never the live entries: a batch acknowledged while the snapshot is being
   * written must not change it (its identities belong to the next journal segment).
   */
  snapshot(): LedgerEntry[] {
    const out: LedgerEntry[] = [];
    this.entries.forEach(({ count, time }, key) => {
      out.push([key, count, time]);
    });
    return out;
  }
}
