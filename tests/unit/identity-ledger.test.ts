import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  IdentityLedger,
  decodeIdentity,
  encodeIdentity,
  type LedgerEntry,
} from '../../trigger_fetch_new_logs/identity-ledger';
import { identityOf } from '../../trigger_fetch_new_logs/record-identity';

/** The ledger as it was up to 3.1.0 (a Map of strings): the behaviour the compact one keeps. */
class MapLedger {
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

  prune(before: number, keep: (time: number) => boolean): number {
    let pruned = 0;
    for (const [key, entry] of this.entries) {
      if (entry.time < before && !keep(entry.time)) {
        this.entries.delete(key);
        pruned++;
      }
    }
    return pruned;
  }

  snapshot(): LedgerEntry[] {
    return [...this.entries].map(([key, { count, time }]) => [key, count, time] as const);
  }
}

const sorted = (entries: LedgerEntry[]): LedgerEntry[] =>
  [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/** Real identities (as the collector makes them) plus keys an older journal may hold. */
function keyPool(identities: number): string[] {
  const real = Array.from({ length: identities }, (_, i) => identityOf('accepted_traffic', `{"n":${i}}`));
  return [...real, 'id-00000001', 'x'.repeat(16 - 1) + '=', 'é'.repeat(16), '', 'AAAAAAAAAAAAAAA'];
}

type Op =
  | { kind: 'add'; key: number; count: number; time: number }
  | { kind: 'prune'; before: number; keepFrom: number; keepTo: number };

function ops(poolSize: number): fc.Arbitrary<Op[]> {
  const add = fc.record({
    kind: fc.constant('add' as const),
    key: fc.nat({ max: poolSize - 1 }),
    count: fc.integer({ min: 1, max: 3 }),
    time: fc.integer({ min: 0, max: 1_000 }),
  });
  const prune = fc.record({
    kind: fc.constant('prune' as const),
    before: fc.integer({ min: 0, max: 1_100 }),
    keepFrom: fc.integer({ min: 0, max: 1_000 }),
    keepTo: fc.integer({ min: 0, max: 1_000 }),
  });
  // Long sequences (fast-check's default size would keep them under ten operations): the
  // table must grow past its first capacity, and prunes must leave tombstones inside probe
  // chains that later lookups cross.
  return fc.array(fc.oneof({ arbitrary: add, weight: 20 }, { arbitrary: prune, weight: 1 }), {
    minLength: 1_000,
    maxLength: 4_000,
    size: 'max',
  });
}

describe('IdentityLedger', () => {
  it('counts, prunes and snapshots exactly like a Map of identities (growth, tombstones, rebuilds)', () => {
    const pool = keyPool(2_500);
    fc.assert(
      fc.property(ops(pool.length), (sequence) => {
        const compact = new IdentityLedger();
        const reference = new MapLedger();
        for (const op of sequence) {
          if (op.kind === 'add') {
            const key = pool[op.key]!;
            compact.add(key, op.count, op.time);
            reference.add(key, op.count, op.time);
          } else {
            const keep = (t: number): boolean => t >= op.keepFrom && t <= op.keepTo;
            if (compact.prune(op.before, keep) !== reference.prune(op.before, keep)) return false;
          }
          if (compact.size !== reference.size) return false;
        }
        expect(pool.map((key) => compact.count(key))).toEqual(pool.map((key) => reference.count(key)));
        expect(sorted(compact.snapshot())).toEqual(sorted(reference.snapshot()));
        return true;
      }),
      // Shrinking thousands of operations takes minutes: the first counterexample is reported.
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('holds a dense trailing period and keeps exactly what a prune spares', () => {
    const ledger = new IdentityLedger();
    const keys = Array.from({ length: 50_000 }, () => randomBytes(12).toString('base64url'));
    keys.forEach((key, i) => {
      ledger.add(key, 1, i);
    });
    keys.forEach((key) => {
      ledger.add(key, 1, 0);
    });
    expect(ledger.size).toBe(50_000);
    expect(keys.every((key) => ledger.count(key) === 2)).toBe(true);
    expect(ledger.count(randomBytes(12).toString('base64url'))).toBe(0);
    // Everything before 49 990 goes, except 100..199 kept (a set-aside window).
    expect(ledger.prune(49_990, (t) => t >= 100 && t < 200)).toBe(49_890);
    expect(ledger.size).toBe(110);
    expect(sorted(ledger.snapshot())).toEqual(
      sorted(
        [...keys.slice(100, 200), ...keys.slice(49_990)].map((k, i) => [
          k,
          2,
          i < 100 ? 100 + i : 49_890 + i,
        ]),
      ),
    );
  });

  it('snapshots copies: a later add does not change an earlier snapshot', () => {
    const ledger = new IdentityLedger();
    const key = identityOf('policy_events', '{}');
    ledger.add(key, 1, 5);
    const before = ledger.snapshot();
    ledger.add(key, 2, 9);
    expect(before).toEqual([[key, 1, 5]]);
    expect(ledger.snapshot()).toEqual([[key, 3, 9]]);
  });
});

describe('identity encoding', () => {
  it('decodes every 16-character base64url identity to 96 bits and back to the same text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 12 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url');
        const words = new Uint32Array(3);
        expect(decodeIdentity(text, words)).toBe(true);
        expect(
          Buffer.from([...words].flatMap((w) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255])),
        ).toEqual(Buffer.from(bytes));
        expect(encodeIdentity(words)).toBe(text);
      }),
    );
  });

  it('refuses any other key (it stays a string)', () => {
    const words = new Uint32Array(3);
    for (const key of [
      '',
      'id-00000001',
      'AAAAAAAAAAAAAAA',
      'AAAAAAAAAAAAAAAAA',
      'AAAAAAAAAAAAAAA=',
      'AAAAAAAAAAAAAAA+',
    ])
      expect(decodeIdentity(key, words)).toBe(false);
  });
});
