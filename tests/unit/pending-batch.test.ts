import { BatchBudget, MAX_SPLIT, PendingBatch } from '../../trigger_fetch_new_logs/pending-batch';

const limits = { batchEvents: 100, batchBytes: 1_000 };

function batchOf(events: number, eventBytes = 1): PendingBatch {
  const batch = new PendingBatch();
  for (let i = 0; i < events; i++) batch.add(`k${i}`, i, 'x'.repeat(eventBytes), undefined);
  return batch;
}

describe('BatchBudget', () => {
  it('gives a read alone the whole allowance (max_parallel_requests 1 batches as before)', () => {
    const share = new BatchBudget(limits).open();
    expect(share.full(batchOf(99))).toBe(false);
    expect(share.full(batchOf(100))).toBe(true);
    expect(share.full(batchOf(9, 100))).toBe(false);
    expect(share.full(batchOf(10, 100))).toBe(true);
  });

  it('splits the allowance between the reads in flight, events and bytes alike', () => {
    const budget = new BatchBudget(limits);
    const shares = [budget.open(), budget.open(), budget.open(), budget.open()];
    expect(budget.reads).toBe(4);
    for (const share of shares) {
      expect(share.full(batchOf(24))).toBe(false);
      expect(share.full(batchOf(25))).toBe(true);
      expect(share.full(batchOf(2, 120))).toBe(false);
      expect(share.full(batchOf(3, 100))).toBe(true);
    }
  });

  it('bounds what K reads hold together to about one allowance', () => {
    const budget = new BatchBudget(limits);
    const reads = Array.from({ length: 8 }, () => ({ share: budget.open(), batch: new PendingBatch() }));
    let most = 0;
    // Round-robin, as windows read side by side interleave: each forwards once its share is full.
    for (let record = 0; record < 2_000; record++) {
      const read = reads[record % reads.length];
      if (read === undefined) throw new Error('no read');
      read.batch.add(`k${record}`, record, 'x'.repeat(7), undefined);
      most = Math.max(
        most,
        reads.reduce((sum, r) => sum + r.batch.bytes, 0),
      );
      if (read.share.full(read.batch)) read.batch.take();
    }
    expect(most).toBeLessThanOrEqual(limits.batchBytes + 8 * 7);
    expect(most).toBeGreaterThan(limits.batchBytes / 2);
  });

  it('never cuts a share below 1/MAX_SPLIT of the allowance, however many reads are open', () => {
    const budget = new BatchBudget(limits);
    const shares = Array.from({ length: 3 * MAX_SPLIT }, () => budget.open());
    expect(budget.reads).toBe(3 * MAX_SPLIT);
    const floor = limits.batchEvents / MAX_SPLIT;
    for (const share of shares) {
      expect(share.full(batchOf(floor - 1))).toBe(false);
      expect(share.full(batchOf(floor))).toBe(true);
    }
  });

  it('hands a closed read’s share back to the others, once however often it is closed', () => {
    const budget = new BatchBudget(limits);
    const first = budget.open();
    const second = budget.open();
    expect(first.full(batchOf(50))).toBe(true);
    second.close();
    second.close();
    expect(budget.reads).toBe(1);
    expect(first.full(batchOf(50))).toBe(false);
    expect(first.full(batchOf(100))).toBe(true);
  });
});

describe('PendingBatch', () => {
  it('counts events and their size, and empties when taken', () => {
    const batch = batchOf(3, 10);
    expect(batch.size).toBe(3);
    expect(batch.bytes).toBe(30);
    const taken = batch.take();
    expect(taken.keys).toEqual(['k0', 'k1', 'k2']);
    expect(taken.late.every(Number.isNaN)).toBe(true);
    expect(taken.select((i) => i !== 1).keys).toEqual(['k0', 'k2']);
    expect(batch.size).toBe(0);
    expect(batch.bytes).toBe(0);
  });
});
