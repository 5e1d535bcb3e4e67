import { TransientError } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import { ReadAheadSlots } from '../../trigger_fetch_new_logs/read-ahead';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import { StreamCollector } from '../../trigger_fetch_new_logs/stream-collector';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import { countingForward, newTrace, slowApi } from '../helpers/in-memory-api';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const HOUR = 3_600_000;

/** One record per second over two hours, ending 5 min ago. */
const RECORDS = Array.from({ length: 2 * 3600 - 300 }, (_, i) => ({
  id: i,
  genTime: new Date(NOW - 2 * HOUR + i * 1000).toISOString(),
}));

const settings: CollectorSettings = {
  baseUrl: 'http://127.0.0.1:1',
  username: 'u',
  apiKey: 'k',
  streams: ['accepted_traffic'],
  frequencyMs: 60_000,
  pageSize: 100,
  firstRunLookbackMs: 2 * HOUR,
  delayMs: 60_000,
  lateWindowMs: 0,
  outputFormat: 'raw',
  maxParallelRequests: 4,
};

/** Slots that also count what was asked of them. */
class CountingSlots extends ReadAheadSlots {
  granted = 0;
  refused = 0;
  most = 0;

  override tryTake(): (() => void) | undefined {
    const slot = super.tryTake();
    if (slot === undefined) this.refused++;
    else this.granted++;
    this.most = Math.max(this.most, this.inUse);
    return slot;
  }
}

async function drain(
  readAhead: ReadAheadSlots,
  failForward: (call: number) => boolean = () => false,
): Promise<{ delivered: Map<number, number>; reads: number }> {
  let forwards = 0;
  const trace = newTrace();
  const clock = new ManualClock(NOW);
  const logger = new MemoryLogger();
  const delivered = new Map<number, number>();
  const collector = new StreamCollector(
    {
      stream: STREAMS.accepted_traffic,
      settings,
      pages: slowApi(RECORDS, trace, { turns: 4 }),
      forward: countingForward(delivered, () => {
        if (failForward(++forwards)) throw new TransientError('the intake is down for a moment');
      }),
      book: new CheckpointBook(new MemoryCheckpointStore(), logger),
      metrics: new StreamMetrics(new Registry()),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      limits: { batchEvents: 50, initialSpanMs: 10 * 60_000 },
      readAhead,
    },
    undefined,
  );
  const signal = new AbortController().signal;
  for (let i = 0; i < 200; i++) {
    try {
      if (await collector.step(signal)) break;
    } catch (error) {
      if (!(error instanceof TransientError)) throw error;
    }
  }
  // A read stopped early gives its slot back once the page it read ahead settles.
  for (let turn = 0; turn < 10; turn++) await new Promise((r) => setImmediate(r));
  return { delivered, reads: trace.maxInFlight };
}

describe('pages read ahead, bounded for the whole process', () => {
  it.each([0, 1])(
    'windows read side by side share %i slot(s): no more pages wait ahead, and every record goes out once',
    async (size) => {
      const slots = new CountingSlots(size);
      const { delivered, reads } = await drain(slots);
      expect(reads).toBeGreaterThan(size + 1);
      // Every read asked for a slot after each page: the one there was went round, the rest
      // read their next page once done with the current one.
      expect(slots.refused).toBeGreaterThan(10);
      if (size > 0) expect(slots.granted).toBeGreaterThan(10);
      expect(slots.most).toBeLessThanOrEqual(size);
      expect(slots.inUse).toBe(0);
      expect(delivered.size).toBe(RECORDS.length);
      expect([...delivered.values()].every((n) => n === 1)).toBe(true);
    },
  );

  it('with a free slot, a read reads its next page ahead', async () => {
    const slots = new CountingSlots(100);
    const { delivered } = await drain(slots);
    expect(slots.granted).toBeGreaterThan(10);
    expect(slots.refused).toBe(0);
    expect(slots.inUse).toBe(0);
    expect(delivered.size).toBe(RECORDS.length);
  });

  it('a read that stops early (a failed forward) gives its slot back: reading ahead goes on after', async () => {
    const slots = new CountingSlots(1);
    let grantedAtFailure = 0;
    const { delivered } = await drain(slots, (call) => {
      // Two failures early on, each while the read that failed may hold the slot.
      const fail = call === 3 || call === 6;
      if (fail) grantedAtFailure = slots.granted;
      return fail;
    });
    expect(slots.inUse).toBe(0);
    expect(slots.granted).toBeGreaterThan(grantedAtFailure + 10);
    // Re-read after the failures: everything went out, nothing lost.
    expect(delivered.size).toBe(RECORDS.length);
  });
});
