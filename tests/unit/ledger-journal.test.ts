import type { NamedObjects } from '@sekoia/automation-sdk-shim';
import { MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { IdentityLedger, type LedgerEntry } from '../../trigger_fetch_new_logs/identity-ledger';
import { LedgerJournal } from '../../trigger_fetch_new_logs/ledger-journal';

/** `count` fresh identities, numbered from `from`. */
function entries(from: number, count: number): LedgerEntry[] {
  return Array.from(
    { length: count },
    (_, i) => [`id-${String(from + i).padStart(8, '0')}`, 1, from + i] as const,
  );
}

/** The objects of a memory store, with the bytes of every save by kind. */
function measured(): { objects: NamedObjects; bytes: { journal: number; snapshot: number } } {
  const objects = new MemoryCheckpointStore().objects;
  const bytes = { journal: 0, snapshot: 0 };
  const save = objects.save.bind(objects);
  objects.save = async (name: string, document: unknown) => {
    bytes[name.includes('.snapshot.') ? 'snapshot' : 'journal'] += JSON.stringify(document).length;
    await save(name, document);
  };
  return { objects, bytes };
}

/** One acknowledged batch, as the collector does it: ledger, journal, then compaction if due. */
async function batch(
  journal: LedgerJournal,
  ledger: IdentityLedger,
  batchEntries: LedgerEntry[],
): Promise<boolean> {
  for (const [key, count, time] of batchEntries) ledger.add(key, count, time);
  await journal.append(batchEntries);
  return journal.compactIfDue(ledger);
}

describe('LedgerJournal compaction', () => {
  it('after a snapshot, waits until the segments hold as many entries as the ledger again', async () => {
    const { objects, bytes } = measured();
    const ledger = new IdentityLedger();
    const journal = new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 2_000);
    expect(await batch(journal, ledger, entries(0, 3_000))).toBe(true);
    // A steady trailing period of 3,000 identities, 100 new (and 100 pruned) per batch.
    const compactions: boolean[] = [];
    for (let b = 0; b < 60; b++) {
      ledger.prune(100 * (b + 1));
      compactions.push(await batch(journal, ledger, entries(3_000 + 100 * b, 100)));
    }
    // One snapshot per 3,000 journaled entries (batches 30 and 60), not one per batch.
    expect(compactions.filter(Boolean)).toHaveLength(2);
    expect(compactions.indexOf(true)).toBe(29);
    // Snapshot bytes, amortised, no more than the segments' own: bytes per batch follow the batch.
    expect(bytes.snapshot).toBeLessThanOrEqual(bytes.journal * 1.1);
  });

  it('after a restart, counts the segments it loaded, not the whole ledger, towards compaction', async () => {
    const { objects } = measured();
    const ledger = new IdentityLedger();
    const journal = new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 2_000);
    await batch(journal, ledger, entries(0, 3_000));
    await batch(journal, ledger, entries(3_000, 100));
    const reloaded = new IdentityLedger();
    const again = new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 2_000);
    await again.load(reloaded);
    expect(reloaded.size).toBe(3_100);
    expect(await batch(again, reloaded, entries(3_100, 100))).toBe(false);
    expect(await objects.list('ledger.accepted_traffic.snapshot.')).toHaveLength(1);
  });
});
