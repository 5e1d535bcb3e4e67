import { ConfigurationError, type Logger, type NamedObjects } from '@sekoia/automation-sdk-shim';
import type { IdentityLedger, LedgerEntry } from './identity-ledger';

/**
 * Makes a stream's IdentityLedger durable without rewriting it on every batch: each
 * acknowledged batch appends one small journal segment (its identities and counts); once the
 * segments hold as many entries as the ledger itself, one snapshot replaces them
 * (compaction). Bytes written per batch are proportional to the batch; the snapshot's cost is
 * amortised over the segments it replaces.
 *
 * Objects, next to the checkpoint: `ledger.<stream>.journal.<seq>` and
 * `ledger.<stream>.snapshot.<seq>` (the ledger as of journal segment `seq`). Each object is
 * written atomically, so a kill leaves whole segments only: loading takes the newest
 * snapshot and applies the segments after it. Segment 0 holds the identities migrated from a
 * version-2 checkpoint (see migrate()); batches are journaled from segment 1 on.
 */
export class LedgerJournal {
  private nextSeq = 1;
  private snapshotSeq = 0;
  /** Entries acknowledged but not yet durable (the last segment write failed). */
  private unsaved: LedgerEntry[] = [];
  private entriesSinceSnapshot = 0;
  private segmentsSinceSnapshot = 0;
  /** Segment 0 is on disk (the last load() applied it, or migrate() wrote it): nothing to migrate. */
  private migrationLoaded = false;

  constructor(
    private readonly objects: NamedObjects,
    private readonly stream: string,
    private readonly logger: Logger,
    private readonly minCompactionEntries = 2_000,
  ) {}

  get pending(): boolean {
    return this.unsaved.length > 0;
  }

  /** Whether the migration segment (segment 0) is journaled: found by load() or written by migrate(). */
  get migrated(): boolean {
    return this.migrationLoaded;
  }

  /** Fills `ledger` from the newest snapshot and the segments after it. */
  async load(ledger: IdentityLedger, signal?: AbortSignal): Promise<void> {
    const names = await this.objects.list(this.prefix, signal);
    const snapshots = names.map((n) => this.parse(n, 'snapshot')).filter((s) => s !== undefined);
    const segments = names.map((n) => this.parse(n, 'journal')).filter((s) => s !== undefined);
    const base = Math.max(0, ...snapshots);
    if (base > 0) this.apply(ledger, await this.objects.load(this.name('snapshot', base), signal), base);
    let entries = 0;
    // load() may run again after a failed attempt: count what this one applies, nothing more,
    // and forget entries a failed migrate() queued (they are migrated again, once).
    this.segmentsSinceSnapshot = 0;
    this.unsaved = [];
    this.migrationLoaded = base === 0 && segments.includes(0);
    for (const seq of segments.sort((a, b) => a - b)) {
      if (base > 0 && seq <= base) continue;
      entries += this.apply(ledger, await this.objects.load(this.name('journal', seq), signal), seq);
      this.segmentsSinceSnapshot++;
    }
    this.snapshotSeq = base;
    this.nextSeq = Math.max(base, ...segments) + 1;
    // What the segments after the snapshot hold, as if this process had appended them.
    this.entriesSinceSnapshot = entries;
    await this.removeBefore(base, snapshots, segments, signal);
  }

  /**
   * Journals identities migrated from a version-2 checkpoint as segment 0, a fixed name: a
   * process killed before the head drops its version-2 lists migrates them again at the next
   * start, and that write replaces the segment instead of adding a second one (the caller skips
   * it anyway when load() found it: `migrated`). Only while no snapshot exists (segments up to a
   * snapshot's are ignored); a snapshot here predates the version-2 checkpoint (a downgrade and
   * an upgrade), and the entries are then appended like a batch's.
   */
  async migrate(entries: readonly LedgerEntry[], signal?: AbortSignal): Promise<void> {
    if (this.snapshotSeq > 0) return this.append(entries, signal);
    await this.objects.save(this.name('journal', 0), entries.map(toStored), signal);
    this.migrationLoaded = true;
    this.segmentsSinceSnapshot++;
    this.entriesSinceSnapshot += entries.length;
  }

  /** Journals the identities of an acknowledged batch; resolves once durable. */
  async append(entries: readonly LedgerEntry[], signal?: AbortSignal): Promise<void> {
    this.unsaved.push(...entries);
    await this.retry(signal);
  }

  /** Writes what an earlier append could not (storage down). */
  async retry(signal?: AbortSignal): Promise<void> {
    if (this.unsaved.length === 0) return;
    const entries = this.unsaved;
    // The same name on every attempt: a retried write replaces, never doubles, the segment.
    await this.objects.save(this.name('journal', this.nextSeq), entries.map(toStored), signal);
    this.unsaved = [];
    this.nextSeq++;
    this.segmentsSinceSnapshot++;
    this.entriesSinceSnapshot += entries.length;
  }

  /**
   * Once the segments since the last snapshot hold at least as many entries as the (pruned)
   * ledger, replaces them with one snapshot of it.
   */
  async compactIfDue(ledger: IdentityLedger, signal?: AbortSignal): Promise<boolean> {
    // Segment 0 alone (the migration) waits for a batch's: a snapshot is numbered from 1.
    if (this.unsaved.length > 0 || this.segmentsSinceSnapshot === 0 || this.nextSeq === 1) return false;
    if (
      this.entriesSinceSnapshot < Math.max(this.minCompactionEntries, ledger.size) &&
      this.segmentsSinceSnapshot < 500
    )
      return false;
    const seq = this.nextSeq - 1;
    // snapshot() already holds the stored shape ([identity, count, time]): no copy of it here.
    await this.objects.save(this.name('snapshot', seq), ledger.snapshot(), signal);
    const previous = this.snapshotSeq;
    this.snapshotSeq = seq;
    // No segment follows the new snapshot. (Counting the snapshot's own size here made every
    // later batch "due" as soon as the ledger held compactionMinEntries: a full snapshot per
    // batch, bytes per save proportional to the trailing period, not to the batch.)
    this.entriesSinceSnapshot = 0;
    this.segmentsSinceSnapshot = 0;
    const names = await this.objects.list(this.prefix, signal);
    await this.removeBefore(
      seq,
      names.map((n) => this.parse(n, 'snapshot')).filter((s) => s !== undefined),
      names.map((n) => this.parse(n, 'journal')).filter((s) => s !== undefined),
      signal,
    );
    this.logger.log('debug', `${this.stream}: identity journal compacted (${ledger.size} identities).`, {
      stream: this.stream,
      previous_snapshot: previous,
    });
    return true;
  }

  /** Objects a snapshot at `base` made useless (also those a kill left mid-compaction). */
  private async removeBefore(
    base: number,
    snapshots: number[],
    segments: number[],
    signal?: AbortSignal,
  ): Promise<void> {
    const stale = [
      ...snapshots.filter((s) => s < base).map((s) => this.name('snapshot', s)),
      // Without a snapshot (base 0), segment 0 (the migration) is live, not stale.
      ...segments.filter((s) => base > 0 && s <= base).map((s) => this.name('journal', s)),
    ];
    for (const name of stale) await this.objects.remove(name, signal);
  }

  private get prefix(): string {
    return `ledger.${this.stream}.`;
  }

  private name(kind: 'journal' | 'snapshot', seq: number): string {
    return `${this.prefix}${kind}.${String(seq).padStart(12, '0')}`;
  }

  private parse(name: string, kind: 'journal' | 'snapshot'): number | undefined {
    const head = `${this.prefix}${kind}.`;
    if (!name.startsWith(head)) return undefined;
    const digits = name.slice(head.length);
    if (!/^\d+$/.test(digits)) return undefined;
    const seq = Number(digits);
    // Journal segment 0 is the version-2 migration; snapshots are numbered from 1.
    return Number.isSafeInteger(seq) && (seq > 0 || (seq === 0 && kind === 'journal')) ? seq : undefined;
  }

  /** Adds a stored snapshot or segment to `ledger`; returns how many entries it held. */
  private apply(ledger: IdentityLedger, stored: unknown, seq: number): number {
    if (!Array.isArray(stored)) throw this.unreadable(seq, 'it is not a JSON array');
    for (const entry of stored) {
      const parsed = fromStored(entry);
      if (parsed === undefined)
        throw this.unreadable(
          seq,
          `the entry ${JSON.stringify(entry).slice(0, 80)} is not [identity, count, time]`,
        );
      ledger.add(...parsed);
    }
    return stored.length;
  }

  private unreadable(seq: number, why: string): ConfigurationError {
    return new ConfigurationError(
      `The checkpoint journal of ${this.stream} (object ${this.prefix}…${seq}) cannot be used: ${why}. ` +
        'Delete the ledger objects of this stream (records near its cursor may then be sent twice), or restore them.',
      { field: 'checkpoint' },
    );
  }
}

type StoredEntry = [string, number, number];

function toStored([key, count, time]: LedgerEntry): StoredEntry {
  return [key, count, time];
}

function fromStored(value: unknown): LedgerEntry | undefined {
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [key, count, time] = value as unknown[];
  if (typeof key !== 'string' || !Number.isSafeInteger(count) || (count as number) < 1) return undefined;
  if (typeof time !== 'number' || !Number.isFinite(time)) return undefined;
  return [key, count as number, time];
}
