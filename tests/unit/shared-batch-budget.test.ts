import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import { BatchBudget } from '../../trigger_fetch_new_logs/pending-batch';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import { StreamCollector, type PageSource } from '../../trigger_fetch_new_logs/stream-collector';
import { STREAMS, type StreamName } from '../../trigger_fetch_new_logs/streams';
import { countingForward } from '../helpers/in-memory-api';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const HOUR = 3_600_000;
const BATCH_EVENTS = 50;

/** One record per second over an hour, ending 5 min ago. */
function backlog(): { id: number; genTime: string }[] {
  const records = [];
  for (let t = NOW - HOUR, id = 0; t <= NOW - 5 * 60_000; t += 1000, id++) {
    records.push({ id, genTime: new Date(t).toISOString() });
  }
  return records;
}

/** An in-memory API whose pages take a few event-loop turns: two streams' reads interleave. */
function api(records: { id: number; genTime: string }[]): PageSource {
  return async function* (_stream, window, pageSize) {
    const inWindow = records.filter((r) => {
      const t = Date.parse(r.genTime);
      return t >= window.start && t <= window.end;
    });
    for (let i = 0; i < inWindow.length || i === 0; i += pageSize) {
      for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
      yield { logs: inWindow.slice(i, i + pageSize), restart: false };
    }
  };
}

function collector(
  name: StreamName,
  clock: ManualClock,
  budget: BatchBudget | undefined,
  batches: number[],
  delivered: Map<number, number>,
): StreamCollector {
  const logger = new MemoryLogger();
  const settings: CollectorSettings = {
    baseUrl: 'http://127.0.0.1:1',
    username: 'u',
    apiKey: 'k',
    streams: [name],
    frequencyMs: 60_000,
    pageSize: 100,
    firstRunLookbackMs: HOUR,
    delayMs: 60_000,
    lateWindowMs: 0,
    outputFormat: 'raw',
    maxParallelRequests: 1,
  };
  return new StreamCollector(
    {
      stream: STREAMS[name],
      settings,
      pages: api(backlog()),
      forward: countingForward(delivered, (events) => batches.push(events.length)),
      book: new CheckpointBook(new MemoryCheckpointStore(), logger),
      metrics: new StreamMetrics(new Registry()),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      limits: { batchEvents: BATCH_EVENTS, initialSpanMs: 10 * 60_000 },
      ...(budget === undefined ? {} : { batchBudget: budget }),
    },
    undefined,
  );
}

/** Two streams drained side by side; the size of every batch each forwarded. */
async function drainTwo(shared: boolean) {
  const clock = new ManualClock(NOW);
  const budget = shared ? new BatchBudget({ batchEvents: BATCH_EVENTS, batchBytes: 1 << 30 }) : undefined;
  const names: StreamName[] = ['accepted_traffic', 'blocked_traffic'];
  const runs = names.map((name) => {
    const batches: number[] = [];
    const delivered = new Map<number, number>();
    const c = collector(name, clock, budget, batches, delivered);
    const drained = (async () => {
      const signal = new AbortController().signal;
      for (let i = 0; i < 200; i++) if (await c.step(signal)) return;
      throw new Error(`${name} did not drain in 200 steps`);
    })();
    return { batches, delivered, drained };
  });
  await Promise.all(runs.map((r) => r.drained));
  return runs;
}

describe('a batch allowance shared by several streams (the trigger passes one for all)', () => {
  it('splits the allowance between the streams reading at once, and delivers every record once', async () => {
    const runs = await drainTwo(true);
    const expected = new Map(backlog().map((r) => [r.id, 1]));
    for (const { batches, delivered } of runs) {
      expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(expected);
      // While both read, each batch is half the allowance; a full allowance only while alone.
      const halfOrLess = batches.filter((n) => n <= BATCH_EVENTS / 2).length;
      expect(halfOrLess).toBeGreaterThan(batches.length * 0.75);
    }
  });

  it('gives each stream a whole allowance of its own when none is passed', async () => {
    const runs = await drainTwo(false);
    for (const { batches } of runs) {
      expect(Math.max(...batches)).toBe(BATCH_EVENTS);
      expect(batches.filter((n) => n === BATCH_EVENTS).length).toBeGreaterThan(batches.length * 0.75);
    }
  });
});
