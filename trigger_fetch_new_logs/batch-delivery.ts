import type { CollectorContext, Forwarder } from './collector-context';
import type { IdentityLedger, LedgerEntry } from './identity-ledger';
import type { JournalTurns } from './journal-turns';
import type { LedgerJournal } from './ledger-journal';
import type { PendingBatch, TakenBatch } from './pending-batch';
import type { RecordClaims } from './record-claims';

/** The identity bookkeeping a delivery updates once the intake acknowledged a batch. */
export interface DeliveryBooks {
  ledger: IdentityLedger;
  claims: RecordClaims;
  journal: LedgerJournal;
  turns: JournalTurns;
}

/** The indexes of the events an intake error says were acknowledged (or discarded for good). */
function acknowledgedIndexes(error: unknown): readonly number[] {
  // DeliveryError gains `acknowledged` on the intake side; until then, nothing was.
  return (error as { acknowledged?: readonly number[] } | null)?.acknowledged ?? [];
}

/**
 * Forwards a read's batches to the intake and records what was acknowledged: in the ledger,
 * the journal and the checkpoint, in that order, so that nothing acknowledged goes out again
 * and nothing unacknowledged is taken for delivered.
 */
export class BatchDelivery {
  private warnedLate = false;

  constructor(
    private readonly context: CollectorContext,
    private readonly forward: Forwarder,
    private readonly books: DeliveryBooks,
  ) {}

  /**
   * Forwards the batch; once acknowledged, its identities join the ledger and the journal.
   * When the intake acknowledged part of it before failing, that part is journaled too.
   */
  async flush(batch: PendingBatch): Promise<void> {
    if (batch.size === 0) return;
    const taken = batch.take();
    try {
      await this.forward(taken.events);
    } catch (error) {
      const acknowledged = new Set(acknowledgedIndexes(error));
      const part = taken.select((i) => acknowledged.has(i));
      // What was not acknowledged is claimed no more: a later read forwards it.
      this.books.claims.release(taken.select((i) => !acknowledged.has(i)).keys);
      if (part.keys.length > 0) await this.delivered(part);
      throw error;
    }
    await this.delivered(taken);
  }

  /**
   * The intake acknowledged these: in the ledger (the claims handed over in the same turn, so
   * delivered + claimed never dips), then journaled. In memory first: even if the journal cannot
   * be written now, this process never sends them again; the write is retried before anything
   * else is forwarded.
   */
  private async delivered(taken: TakenBatch): Promise<void> {
    const { ledger, claims, journal, turns } = this.books;
    const entries = ledgerEntries(taken);
    this.context.metrics.forwarded(this.context.name, taken.keys.length);
    this.reportLate(taken.late);
    // The ledger and the journal change in one turn: a compaction snapshots both or neither.
    await turns.run(async () => {
      for (const [key, count, time] of entries) ledger.add(key, count, time);
      claims.release(taken.keys);
      await journal.append(entries);
    });
    await this.context.commit();
  }

  /** Late logs found by the late-log passes: a metric each, and one warning per process. */
  private reportLate(seconds: readonly number[]): void {
    const { metrics, logger, settings, name } = this.context;
    const late = seconds.filter((s) => !Number.isNaN(s));
    if (late.length === 0) return;
    for (const s of late) metrics.late(name, s);
    if (this.warnedLate) return;
    this.warnedLate = true;
    const worst = Math.round(Math.max(...late));
    logger.log(
      'warning',
      `${name}: the API listed ${late.length} log(s) late, the latest about ${worst} s after their time; re-reading recent periods collected them. Logs listed more than late_window (${Math.round(settings.lateWindowMs / 60_000)} min) late would be missed: raise it if this lateness grows.`,
      { stream: name, late_seconds: worst },
    );
  }
}

/** One ledger entry per identity of the batch: how many times it went out, and its time. */
function ledgerEntries(taken: TakenBatch): LedgerEntry[] {
  const { keys, times } = taken;
  const entries: [key: string, count: number, time: number][] = [];
  // Identities repeat rarely (identical records): an index per key, no object per identity.
  const at = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] ?? '';
    const index = at.get(key);
    if (index === undefined) {
      at.set(key, entries.length);
      entries.push([key, 1, times[i] ?? Number.POSITIVE_INFINITY]);
    } else {
      const entry = entries[index];
      if (entry !== undefined) entry[1]++;
    }
  }
  return entries;
}
