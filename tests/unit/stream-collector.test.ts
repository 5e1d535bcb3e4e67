import { AuthenticationError, DeliveryError, TransientError } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import { StreamCollector, type PageSource } from '../../trigger_fetch_new_logs/stream-collector';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const settings: CollectorSettings = {
  baseUrl: 'http://127.0.0.1:1',
  username: 'u',
  apiKey: 'k',
  streams: ['accepted_traffic'],
  frequencyMs: 60_000,
  pageSize: 7,
  firstRunLookbackMs: 3_600_000,
  delayMs: 60_000,
  lateWindowMs: 0,
  outputFormat: 'raw',
};

/** An in-memory API: inclusive bounds on genTime, a configurable order, pages of `limit`. */
function fakeApi(records: { genTime: string; id: number }[], order: 'asc' | 'desc' = 'asc'): PageSource {
  return async function* (_stream, window, pageSize) {
    const inWindow = records
      .filter((r) => {
        const t = Date.parse(r.genTime);
        return t >= window.start && t <= window.end;
      })
      .sort((a, b) => (order === 'asc' ? a.id - b.id : b.id - a.id));
    for (let i = 0; i < inWindow.length; i += pageSize) {
      await Promise.resolve();
      yield { logs: inWindow.slice(i, i + pageSize), restart: false };
    }
  };
}

function makeRecords(count: number, from: number, stepMs: number): { genTime: string; id: number }[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    genTime: new Date(from + id * stepMs).toISOString(),
  }));
}

function setup(pages: PageSource, store = new MemoryCheckpointStore()) {
  const clock = new ManualClock(NOW);
  const logger = new MemoryLogger();
  const delivered: number[] = [];
  let forwardHook: ((events: readonly string[]) => Promise<void>) | undefined;
  const book = new CheckpointBook(store, logger);
  const metrics = new StreamMetrics(new Registry());
  const make = async () => {
    const loaded = await new CheckpointBook(store, logger).load();
    return new StreamCollector(
      {
        stream: STREAMS.accepted_traffic,
        settings,
        pages,
        forward: async (events) => {
          if (forwardHook) await forwardHook(events);
          for (const e of events) delivered.push((JSON.parse(e) as { id: number }).id);
        },
        book,
        metrics,
        clock,
        sleep: clock.sleep,
        logger,
        random: () => 0.5,
        encode: (r) => r,
        limits: { batchEvents: 10, initialSpanMs: 10 * 60_000 },
      },
      loaded.get('accepted_traffic'),
    );
  };
  return {
    clock,
    logger,
    delivered,
    store,
    metrics,
    make,
    setForward: (f: typeof forwardHook) => (forwardHook = f),
  };
}

/** Steps until a step throws; returns the error. */
async function stepUntilError(collector: StreamCollector): Promise<unknown> {
  for (let i = 0; i < 100; i++) {
    try {
      await collector.step(new AbortController().signal);
    } catch (error) {
      return error;
    }
  }
  throw new Error('no step failed');
}

async function drain(collector: StreamCollector): Promise<void> {
  const signal = new AbortController().signal;
  for (let i = 0; i < 1000; i++) {
    if (await collector.step(signal)) return;
  }
  throw new Error('the collector never caught up');
}

describe('StreamCollector', () => {
  it.each(['asc', 'desc'] as const)('delivers a backlog exactly once with %s API order', async (order) => {
    // 500 records over the last hour, 3 records sharing each 20 s step.
    const records = makeRecords(500, NOW - 3_600_000, 7_000).map((r, i) => ({
      ...r,
      genTime: new Date(NOW - 3_600_000 + Math.floor(i / 3) * 20_000).toISOString(),
    }));
    const t = setup(fakeApi(records, order));
    const collector = await t.make();
    await drain(collector);
    const inRange = records.filter((r) => Date.parse(r.genTime) <= NOW - 60_000).map((r) => r.id);
    expect([...t.delivered].sort((a, b) => a - b)).toEqual(inRange);
    expect(new Set(t.delivered).size).toBe(t.delivered.length);
    expect(t.metrics.totals.get('accepted_traffic')?.duplicates).toBeGreaterThan(0);
  });

  it('lets go of each record of a page once taken, before the page is forwarded to its end', async () => {
    // A parsed page held whole across the forwards in the middle of it outlives young
    // collections: what a page still holds must be only the records not yet taken.
    const records = makeRecords(40, NOW - 3_600_000, 1_000);
    const yielded: { logs: unknown[] }[] = [];
    const api = fakeApi(records);
    const pages: PageSource = async function* (...args) {
      for await (const page of api(...args)) {
        yielded.push(page);
        yield page;
      }
    };
    const t = setup(pages);
    const stillHeld: number[] = [];
    t.setForward(async (events) => {
      const forwarded = new Set(events.map((e) => (JSON.parse(e) as { id: number }).id));
      for (const page of yielded)
        for (const r of page.logs)
          if (forwarded.has((r as { id: number } | undefined)?.id ?? -1)) stillHeld.push(1);
      await Promise.resolve();
    });
    const collector = await t.make();
    await drain(collector);

    expect(t.delivered).toHaveLength(40);
    // Batches of 10 from pages of 7: most forwards happen in the middle of a page.
    expect(yielded.length).toBeGreaterThanOrEqual(6);
    expect(stillHeld).toHaveLength(0);
  });

  it('delivers many records sharing one second without stalling', async () => {
    const second = new Date(NOW - 30 * 60_000).toISOString();
    const records = Array.from({ length: 1_500 }, (_, id) => ({ id, genTime: second }));
    const t = setup(fakeApi(records));
    await drain(await t.make());
    expect(t.delivered).toHaveLength(1_500);
    expect(new Set(t.delivered).size).toBe(1_500);
  });

  it('saves progress after every acknowledged batch and resumes a window without repeating it', async () => {
    const records = makeRecords(95, NOW - 40 * 60_000, 1_000);
    const t = setup(fakeApi(records));
    let batches = 0;
    t.setForward(async () => {
      batches++;
      if (batches === 4) throw new DeliveryError('intake down', 10);
      await Promise.resolve();
    });
    const first = await t.make();
    expect(await stepUntilError(first)).toBeInstanceOf(DeliveryError);
    expect(t.delivered).toHaveLength(30);
    // A new process: everything it knows comes from the store.
    t.setForward(undefined);
    const second = await t.make();
    await drain(second);
    expect([...t.delivered].sort((a, b) => a - b)).toEqual(records.map((r) => r.id));
    // Every acknowledged batch is journaled (10 of them); the head is written when it changes.
    expect(t.store.objects.saves).toBeGreaterThanOrEqual(10);
    expect(t.store.saves).toBeGreaterThan(0);
  });

  it('does not move the cursor past records the intake did not acknowledge', async () => {
    const records = makeRecords(20, NOW - 40 * 60_000, 1_000);
    const t = setup(fakeApi(records));
    t.setForward(() => Promise.reject(new DeliveryError('intake down', 10)));
    const collector = await t.make();
    expect(await stepUntilError(collector)).toBeInstanceOf(DeliveryError);
    const window = collector.state.window;
    expect(window).toBeDefined();
    // The cursor still stands at the start of the window holding the unacknowledged records.
    expect(collector.state.cursor).toBeLessThanOrEqual(window!.start);
    expect(Date.parse(records[0]!.genTime)).toBeGreaterThanOrEqual(window!.start);
    expect(collector.deliveredCount(records[0])).toBe(0);
  });

  it('retries transient failures with backoff and surfaces fatal ones', async () => {
    const records = makeRecords(5, NOW - 40 * 60_000, 1_000);
    let calls = 0;
    const api = fakeApi(records);
    const flaky: PageSource = (stream, window, size, signal) => {
      calls++;
      if (calls <= 2) throw new TransientError('API down');
      if (calls === 3) throw new AuthenticationError('key revoked');
      return api(stream, window, size, signal);
    };
    const t = setup(flaky);
    const collector = await t.make();
    await expect(collector.run(new AbortController().signal)).rejects.toBeInstanceOf(AuthenticationError);
    expect(t.clock.slept).toBeGreaterThan(0);
    expect(t.logger.messages('error').filter((m) => m.includes('API down'))).toHaveLength(2);
  });

  it('re-reads the window edge after a restart without duplicating it', async () => {
    // The first run ends its last window at NOW - delay; three records sit in the last second
    // before it, so the next window (starting 1 s before that end) reads them again.
    const end = NOW - settings.delayMs;
    const records = [
      ...makeRecords(20, NOW - 20 * 60_000, 30_000),
      ...[900, 600, 300].map((ms, i) => ({ id: 100 + i, genTime: new Date(end - ms).toISOString() })),
    ];
    const t = setup(fakeApi(records));
    await drain(await t.make());
    expect(t.delivered).toHaveLength(23);
    // Later, after a restart: new records too; the saved edge drops the re-read ones.
    records.push({ id: 200, genTime: new Date(NOW + 60_000).toISOString() });
    t.clock.advance(5 * 60_000);
    await drain(await t.make());
    expect([...t.delivered].sort((a, b) => a - b)).toEqual(records.map((r) => r.id).sort((a, b) => a - b));
    expect(t.metrics.totals.get('accepted_traffic')?.duplicates).toBeGreaterThanOrEqual(3);
  });

  it('stops and re-plans a window whose start falls out of the 72-hour horizon while it is read', async () => {
    const HOUR = 3_600_000;
    // The window starts at the planner's horizon (72 h back, plus a 10-minute margin).
    const records = makeRecords(30, NOW - 71 * HOUR - 49 * 60_000, 10_000);
    const api = fakeApi(records);
    const held: { clock?: ManualClock } = {};
    const slow: PageSource = async function* (stream, window, size, signal) {
      for await (const page of api(stream, window, size, signal)) {
        yield page;
        held.clock?.advance(10 * 60_000); // a very slow API: ten minutes per page
      }
    };
    const store = new MemoryCheckpointStore({
      version: 3,
      streams: {
        accepted_traffic: {
          cursor: new Date(NOW - 71 * HOUR - 55 * 60_000).toISOString(),
          rereads: [],
          setAside: [],
        },
      },
    });
    const t = setup(slow, store);
    held.clock = t.clock;
    const collector = await t.make();
    const error = await stepUntilError(collector);
    expect(String(error)).toMatch(/reached the API's 72-hour horizon; planning it again/);
    // The next plan clamps the window and says how much was lost; what was delivered stays delivered.
    await collector.step(new AbortController().signal).catch(() => undefined);
    expect(t.metrics.totals.get('accepted_traffic')?.clampedSeconds).toBeGreaterThan(0);
    expect(t.logger.messages('warning').join('\n')).toMatch(/72-hour horizon/);
    expect(new Set(t.delivered).size).toBe(t.delivered.length);
  });
});
