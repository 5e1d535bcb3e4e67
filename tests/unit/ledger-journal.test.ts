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

describe('LedgerJournal snapshot', () => {
  /** A ledger whose identities were delivered more than once, some re-read at later times. */
  function busyLedger(size: number): IdentityLedger {
    const ledger = new IdentityLedger();
    for (const [key, count, time] of entries(0, size)) ledger.add(key, count, 1_700_000_000_000 + time);
    for (let i = 0; i < size; i += 7)
      ledger.add(`id-${String(i).padStart(8, '0')}`, 2, 1_700_000_500_000 + i);
    return ledger;
  }

  const sorted = (list: readonly LedgerEntry[]): LedgerEntry[] =>
    [...list].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  it('a compaction of N identities reads back as the same ledger, in the stored [identity, count, time] form', async () => {
    const objects = new MemoryCheckpointStore().objects;
    const ledger = busyLedger(5_000);
    const journal = new LedgerJournal(objects, 'policy_events', new MemoryLogger(), 10);
    await journal.append(ledger.snapshot());
    expect(await journal.compactIfDue(ledger)).toBe(true);
    // The segment it replaced is gone: what loads back comes from the snapshot alone.
    expect(await objects.list('ledger.policy_events.')).toEqual([
      'ledger.policy_events.snapshot.000000000001',
    ]);
    const stored = (await objects.load('ledger.policy_events.snapshot.000000000001')) as unknown[];
    expect(stored).toHaveLength(5_000);
    expect(stored).toContainEqual(['id-00000007', 3, 1_700_000_500_007]);
    expect(stored).toContainEqual(['id-00000008', 1, 1_700_000_000_008]);

    const reloaded = new IdentityLedger();
    await new LedgerJournal(objects, 'policy_events', new MemoryLogger(), 10).load(reloaded);
    expect(sorted(reloaded.snapshot())).toEqual(sorted(ledger.snapshot()));
  });

  it('is a copy: a batch acknowledged while it is being written does not change it', () => {
    const ledger = busyLedger(10);
    const snapshot = ledger.snapshot();
    const before = JSON.stringify(snapshot);
    ledger.add('id-00000003', 4, 1_800_000_000_000);
    ledger.add('id-99999999', 1, 1_800_000_000_000);
    expect(JSON.stringify(snapshot)).toBe(before);
  });
});

describe('LedgerJournal migration segment (version-2 identities)', () => {
  const journalOf = (objects: NamedObjects): LedgerJournal =>
    new LedgerJournal(objects, 'blocked_traffic', new MemoryLogger(), 10);

  it('is segment 0, replaced when written again, loaded once before the batches', async () => {
    const objects = new MemoryCheckpointStore().objects;
    const first = journalOf(objects);
    await first.load(new IdentityLedger());
    expect(first.migrated).toBe(false);
    await first.migrate(entries(0, 3));
    // A kill before the head's commit: the next start migrates again, onto the same name.
    const second = journalOf(objects);
    await second.load(new IdentityLedger());
    expect(second.migrated).toBe(true);
    await second.migrate(entries(0, 3));
    await second.append([['id-00000000', 1, 50]]);
    expect(await objects.list('ledger.blocked_traffic.')).toEqual([
      'ledger.blocked_traffic.journal.000000000000',
      'ledger.blocked_traffic.journal.000000000001',
    ]);
    const ledger = new IdentityLedger();
    await journalOf(objects).load(ledger);
    expect(ledger.count('id-00000000')).toBe(2);
    expect(ledger.count('id-00000002')).toBe(1);
  });

  it('goes with the first compaction; a kill before its removal does not apply it on top of the snapshot', async () => {
    const objects = new MemoryCheckpointStore().objects;
    const journal = journalOf(objects);
    const ledger = new IdentityLedger();
    await journal.load(ledger);
    await journal.migrate(entries(0, 20));
    for (const [key, count, time] of entries(0, 20)) ledger.add(key, count, time);
    // Segment 0 alone is never compacted (a snapshot is numbered from 1): a batch's comes first.
    expect(await journal.compactIfDue(ledger)).toBe(false);
    await journal.append([['id-00000005', 1, 5]]);
    ledger.add('id-00000005', 1, 5);
    // A kill mid-compaction: the snapshot is written, segment 0 is not removed yet.
    const remove = objects.remove.bind(objects);
    objects.remove = () => Promise.reject(new Error('killed'));
    await expect(journal.compactIfDue(ledger)).rejects.toThrow('killed');
    expect(await objects.list('ledger.blocked_traffic.')).toContain(
      'ledger.blocked_traffic.journal.000000000000',
    );
    objects.remove = remove;
    const reloaded = new IdentityLedger();
    const again = journalOf(objects);
    await again.load(reloaded);
    expect(reloaded.count('id-00000005')).toBe(2);
    expect(reloaded.count('id-00000006')).toBe(1);
    expect(again.migrated).toBe(false);
    expect(await objects.list('ledger.blocked_traffic.')).toEqual([
      'ledger.blocked_traffic.snapshot.000000000001',
    ]);
  });
});

describe('LedgerJournal migration retried after a failed save', () => {
  it('journals each migrated identity once when a snapshot already exists', async () => {
    const objects = new MemoryCheckpointStore().objects;
    const first = new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 10);
    const ledger = new IdentityLedger();
    // A snapshot exists (an earlier 3.x run), so the migration is appended like a batch.
    expect(await batch(first, ledger, entries(0, 20))).toBe(true);
    const journal = new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 10);
    await journal.load(new IdentityLedger());
    const save = objects.save.bind(objects);
    let fail = true;
    objects.save = async (name: string, document: unknown) => {
      if (fail) {
        fail = false;
        throw new Error('storage down');
      }
      await save(name, document);
    };
    const migrated = entries(100, 5);
    await expect(journal.migrate(migrated)).rejects.toThrow('storage down');
    // ready() fails, and runs again: a fresh load, the same migration.
    await journal.load(new IdentityLedger());
    await journal.migrate(migrated);
    const reloaded = new IdentityLedger();
    await new LedgerJournal(objects, 'accepted_traffic', new MemoryLogger(), 10).load(reloaded);
    for (const [key] of migrated) expect(reloaded.count(key)).toBe(1);
  });
});
