import type { CheckpointStore } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';
import { CheckpointBook, type StreamCheckpoint } from '../../trigger_fetch_new_logs/checkpoint';
import { KillableStore } from '../integration/harness';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import { StreamCollector, type PageSource } from '../../trigger_fetch_new_logs/stream-collector';
import { countingForward, newTrace, slowApi, type TimedRecord } from '../helpers/in-memory-api';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const HOUR = 3_600_000;

type Rec = TimedRecord;

/**
 * A backlog of one record per second over three hours, ending 5 min ago; every fifth record is
 * listed twice (a twin: identical in every field). Records fall on whole seconds, as do window
 * bounds: the 1 s overlap of neighbouring windows holds two records on each edge.
 */
function backlog(): Rec[] {
  const records: Rec[] = [];
  const from = NOW - 3 * HOUR;
  for (let i = 0; from + i * 1000 <= NOW - 5 * 60_000; i++) {
    const record = { id: i, genTime: new Date(from + i * 1000).toISOString() };
    records.push(record);
    if (i % 5 === 0) records.push({ ...record });
  }
  return records;
}

const settings = (maxParallelRequests: number): CollectorSettings => ({
  baseUrl: 'http://127.0.0.1:1',
  username: 'u',
  apiKey: 'k',
  streams: ['accepted_traffic'],
  frequencyMs: 60_000,
  pageSize: 100,
  firstRunLookbackMs: 3 * HOUR,
  delayMs: 60_000,
  lateWindowMs: 0,
  outputFormat: 'raw',
  maxParallelRequests,
});

function setup(
  pages: PageSource,
  maxParallelRequests: number,
  concurrency?: AdaptiveConcurrency,
  batchEvents = 50,
  clock = new ManualClock(NOW),
  store: CheckpointStore = new MemoryCheckpointStore(),
  initial?: StreamCheckpoint,
) {
  const logger = new MemoryLogger();
  const delivered = new Map<number, number>();
  const collector = new StreamCollector(
    {
      stream: STREAMS.accepted_traffic,
      settings: settings(maxParallelRequests),
      pages,
      forward: countingForward(delivered),
      book: new CheckpointBook(store, logger),
      metrics: new StreamMetrics(new Registry()),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      limits: { batchEvents, initialSpanMs: 10 * 60_000 },
      ...(concurrency === undefined ? {} : { concurrency }),
    },
    initial,
  );
  const drain = async (): Promise<void> => {
    const signal = new AbortController().signal;
    for (let i = 0; i < 200; i++) if (await collector.step(signal)) return;
    throw new Error('the backlog did not drain in 200 steps');
  };
  return { clock, collector, delivered, drain, logger };
}

/** How many times each record id is listed by the API (twins twice). */
function listed(records: Rec[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  return counts;
}

describe('windows read side by side', () => {
  it('delivers every record, twins and window-edge records exactly as many times as listed', async () => {
    const records = backlog();
    const trace = newTrace();
    // Batches as large as a window: a read holds its records unacknowledged until its last
    // page, so the neighbour reading the same edge sees them claimed, not delivered.
    const { delivered, drain, collector } = setup(slowApi(records, trace), 4, undefined, 10_000);
    await drain();
    expect(trace.maxInFlight).toBeGreaterThan(1);
    expect(trace.maxInFlight).toBeLessThanOrEqual(4);
    // Neighbouring windows did overlap: their common edge was read by both, concurrently.
    const overlapping = trace.windows.filter((w, i) =>
      trace.windows.some((v, j) => j !== i && v.end === w.start + 1000),
    );
    expect(overlapping.length).toBeGreaterThan(3);
    expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(listed(records));
    expect(collector.state.window).toBeUndefined();
  });

  it('grows K up to max_parallel_requests while pages are latency-bound, never beyond', async () => {
    const records = backlog();
    const trace = newTrace();
    const { drain, collector } = setup(slowApi(records, trace), 3);
    await drain();
    expect(collector.concurrency.limit).toBe(3);
    expect(trace.maxInFlight).toBe(3);
  });

  it('a 429 storm shrinks K; it grows back after, and nothing is lost or repeated', async () => {
    const records = backlog();
    const trace = newTrace();
    const clock = new ManualClock(NOW);
    const k = new AdaptiveConcurrency({ max: 8, clock, probeAfterPages: 5 });
    const limits: number[] = [];
    // Pages 30-59 come after a 429 each (as the TMES client's observer reports them).
    const api = slowApi(records, trace, {
      onPage: (n) => {
        if (n >= 30 && n < 60) {
          clock.advance(10);
          k.throttled(clock.now() - 5, 100);
        }
        limits.push(k.limit);
      },
    });
    const { delivered, drain } = setup(api, 8, k, 50, clock);
    await drain();
    const before = Math.max(...limits.slice(0, 30));
    const during = Math.max(...limits.slice(40, 60));
    expect(before).toBeGreaterThanOrEqual(4);
    expect(during).toBe(1);
    expect(Math.max(...limits.slice(60))).toBeGreaterThan(1);
    expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(listed(records));
  });

  it("cuts the backlog's end in 1/K pieces read side by side: no long last window is read alone", async () => {
    const records = backlog();
    const trace = newTrace();
    const { delivered, drain } = setup(slowApi(records, trace), 4);
    await drain();
    const spans = trace.windows.map((w) => (w.end - w.start) / 60_000);
    const longest = Math.max(...spans);
    // The window read once the run is over (caught up) holds about one page (100 records here).
    expect(spans[spans.length - 1]).toBeLessThanOrEqual(2);
    // Before it, windows shrink towards the end, several still side by side.
    const tail = spans.slice(-6, -1);
    expect(Math.max(...tail)).toBeLessThan(longest / 2);
    expect(trace.maxInFlight).toBe(4);
    expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(listed(records));
  });

  it('after a 429 cut, the windows already open send no more than K page requests at once', async () => {
    const records = backlog();
    const clock = new ManualClock(NOW);
    const k = new AdaptiveConcurrency({ max: 8, clock, probeAfterPages: 1_000 });
    let inFlight = 0;
    const afterCut: { inFlight: number; limit: number }[] = [];
    let before = 0;
    let cut = false;
    const open = slowApi(records, newTrace(), {
      onPage: (n) => {
        if (n === 40) {
          // 8 windows open, a burst of 429s: K = 4, then no more throttling.
          k.throttled(clock.now() - 5);
          cut = true;
        }
      },
    });
    // Counts requests between the gate's permit and the page's arrival.
    const counting: PageSource = (stream, window, size, signal) => ({
      [Symbol.asyncIterator]: () => {
        const pages = open(stream, window, size, signal)[Symbol.asyncIterator]();
        return {
          next: async () => {
            inFlight++;
            if (cut) afterCut.push({ inFlight, limit: k.limit });
            else before = Math.max(before, inFlight);
            try {
              return await pages.next();
            } finally {
              inFlight--;
            }
          },
          return: async () => (await pages.return?.()) ?? { done: true, value: undefined },
        };
      },
    });
    const { delivered, drain } = setup(counting, 8, k, 50, clock);
    await drain();
    expect(before).toBe(8);
    expect(afterCut.length).toBeGreaterThan(50);
    // Right after the cut K is 4 (it grows back later): the 8 windows open share 4 permits.
    expect(afterCut[0]?.limit).toBe(4);
    for (const request of afterCut) expect(request.inFlight).toBeLessThanOrEqual(request.limit);
    expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(listed(records));
  });

  it('max_parallel_requests 1 reads one window at a time, each starting where the previous ended (minus the overlap)', async () => {
    const records = backlog();
    const trace = newTrace();
    const { delivered, drain } = setup(slowApi(records, trace), 1);
    await drain();
    expect(trace.maxInFlight).toBe(1);
    // The sequence of today's sequential collector: 10 min, then doubling up to the 60 min cap.
    const spans = trace.windows.map((w) => (w.end - w.start) / 60_000);
    expect(spans.slice(0, 3)).toEqual([10, 20, 40]);
    for (let i = 1; i < trace.windows.length; i++) {
      expect(trace.windows[i]?.start).toBe((trace.windows[i - 1]?.end ?? 0) - 1000);
    }
    expect(new Map([...delivered].sort((a, b) => a[0] - b[0]))).toEqual(listed(records));
  });

  it('a kill while K windows are in flight (the oldest stalled) loses nothing and repeats only unacknowledged batches', async () => {
    const records = backlog();
    const trace = newTrace();
    const firstStart = NOW - 3 * HOUR;
    const open = slowApi(records, trace);
    // The first window's read never gets its first page: its neighbours complete around it.
    const stalled: PageSource = (stream, window, size, signal) =>
      window.start === firstStart
        ? (async function* () {
            await new Promise<never>(() => undefined);
            yield* [];
          })()
        : open(stream, window, size, signal);
    const memory = new MemoryCheckpointStore();
    const store = new KillableStore(() => memory);
    const clock = new ManualClock(NOW);
    // K already at 4 (grown on earlier pages): four windows start at once.
    const k = new AdaptiveConcurrency({ max: 4, clock });
    for (let i = 0; i < 3; i++) k.answered(true);
    const first = setup(stalled, 4, k, 50, clock, store);
    const running = first.collector.step(new AbortController().signal);
    void running.catch(() => undefined);
    const deliveredBy = (m: Map<number, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
    for (let i = 0; i < 10_000 && deliveredBy(first.delivered) < 3_000; i++)
      await new Promise((r) => setImmediate(r));
    expect(deliveredBy(first.delivered)).toBeGreaterThanOrEqual(3_000);
    expect(trace.inFlight).toBeGreaterThan(1);
    // SIGKILL: nothing more reaches storage; the first collector is never heard from again.
    store.kill();
    await store.settled();
    const acknowledgedAtKill = new Map(first.delivered);
    const loaded = await new CheckpointBook(memory, new MemoryLogger()).load();
    const head = loaded.get('accepted_traffic');
    expect(head?.cursor).toBe(firstStart);
    expect(head?.window?.end).toBeGreaterThan(firstStart + 30 * 60_000);
    const second = setup(open, 4, undefined, 50, new ManualClock(NOW), memory, head);
    await second.drain();
    const total = new Map<number, number>();
    for (const m of [acknowledgedAtKill, second.delivered])
      for (const [id, n] of m) total.set(id, (total.get(id) ?? 0) + n);
    const expected = listed(records);
    const missing = [...expected].filter(([id, n]) => (total.get(id) ?? 0) < n);
    expect(missing).toEqual([]);
    const extra = [...total].reduce((sum, [id, n]) => sum + n - (expected.get(id) ?? 0), 0);
    // At most the batches in flight at the kill (one per window read side by side).
    expect(extra).toBeLessThanOrEqual(4 * 50);
  });
});
