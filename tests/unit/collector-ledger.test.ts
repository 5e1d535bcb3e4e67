import { DeliveryError, TransientError } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { recordKey } from '../../trigger_fetch_new_logs/record-identity';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import {
  StreamCollector,
  type CollectorLimits,
  type PageSource,
} from '../../trigger_fetch_new_logs/stream-collector';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import type { WindowPage } from '../../trigger_fetch_new_logs/window-page';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const MIN = 60_000;

interface Rec {
  genTime: string;
  id: number;
  /** Becomes visible to the API this long after genTime (late logs). */
  visibleAfterMs?: number;
  [k: string]: unknown;
}

/** An in-memory API over genTime, inclusive bounds, pages of `limit`; counts requests. */
class FakeApi {
  requests = 0;
  constructor(
    readonly records: Rec[],
    private readonly clock: ManualClock,
  ) {}

  pages: PageSource = (_stream, window, pageSize) => this.read(window, pageSize);

  private async *read(window: { start: number; end: number }, pageSize: number): AsyncGenerator<WindowPage> {
    const clock = this.clock;
    {
      const visible = this.records
        .filter((r) => {
          const t = Date.parse(r.genTime);
          return t >= window.start && t <= window.end && t + (r.visibleAfterMs ?? 0) <= clock.now();
        })
        .map(({ visibleAfterMs: _v, ...r }) => r);
      this.requests++;
      if (visible.length === 0) return; // a 204: one request, no page
      for (let i = 0; i < visible.length; i += pageSize) {
        if (i > 0) this.requests++;
        await Promise.resolve();
        yield { logs: visible.slice(i, i + pageSize), restart: false };
      }
    }
  }
}

function setup(options: {
  records: Rec[];
  lateWindowMs?: number;
  limits?: Partial<CollectorLimits>;
  store?: MemoryCheckpointStore;
  pages?: (api: FakeApi) => PageSource;
}) {
  const clock = new ManualClock(NOW);
  const logger = new MemoryLogger();
  const store = options.store ?? new MemoryCheckpointStore();
  const api = new FakeApi(options.records, clock);
  const delivered: unknown[] = [];
  const metrics = new StreamMetrics(new Registry());
  let forwardHook: ((events: readonly string[]) => Promise<void>) | undefined;
  const settings: CollectorSettings = {
    baseUrl: 'http://127.0.0.1:1',
    username: 'u',
    apiKey: 'k',
    streams: ['accepted_traffic'],
    frequencyMs: 60_000,
    pageSize: 50,
    firstRunLookbackMs: 3_600_000,
    delayMs: 60_000,
    lateWindowMs: options.lateWindowMs ?? 0,
    outputFormat: 'raw',
  };
  const make = async (): Promise<StreamCollector> => {
    const book = new CheckpointBook(store, logger);
    const loaded = await book.load();
    return new StreamCollector(
      {
        stream: STREAMS.accepted_traffic,
        settings,
        pages: options.pages?.(api) ?? api.pages,
        forward: async (events) => {
          if (forwardHook) await forwardHook(events);
          for (const e of events) delivered.push(JSON.parse(e));
        },
        book,
        metrics,
        clock,
        sleep: clock.sleep,
        logger,
        random: () => 0.5,
        encode: (r) => r,
        limits: { batchEvents: 20, initialSpanMs: 10 * MIN, ...options.limits },
      },
      loaded.get('accepted_traffic'),
    );
  };
  return {
    clock,
    logger,
    store,
    api,
    delivered,
    metrics,
    make,
    totals: () => metrics.totalsOf('accepted_traffic'),
    ids: () => delivered.map((d) => (d as { id: number }).id).sort((a, b) => a - b),
    setForward: (f: typeof forwardHook) => (forwardHook = f),
  };
}

const signal = new AbortController().signal;

/** Steps until caught up (the collector would then sleep `frequency`). */
async function drain(collector: StreamCollector): Promise<void> {
  for (let i = 0; i < 5_000; i++) if (await collector.step(signal)) return;
  throw new Error('never caught up');
}

/** Live operation: poll, then let `frequency` pass, for `minutes`. */
async function live(collector: StreamCollector, clock: ManualClock, minutes: number): Promise<void> {
  const end = clock.now() + minutes * MIN;
  while (clock.now() < end) {
    await drain(collector);
    clock.advance(60_000);
  }
}

async function stepUntilError(collector: StreamCollector): Promise<unknown> {
  for (let i = 0; i < 200; i++) {
    try {
      await collector.step(signal);
    } catch (error) {
      return error;
    }
  }
  throw new Error('no step failed');
}

function at(ms: number): string {
  return new Date(ms).toISOString();
}

/** A version-2 checkpoint whose window [-21 min, -15 min] had delivered `delivered`. */
function versionTwoStore(delivered: readonly Rec[]): MemoryCheckpointStore {
  return new MemoryCheckpointStore({
    version: 2,
    streams: {
      accepted_traffic: {
        cursor: at(NOW - 21 * MIN),
        window: {
          start: at(NOW - 21 * MIN),
          end: at(NOW - 15 * MIN),
          delivered: delivered.map((r) => recordKey('accepted_traffic', r)),
        },
        edge: [],
      },
    },
  });
}

describe('StreamCollector: identical records (multiset)', () => {
  it('delivers twins twice, and not again on edge re-reads or after a restart', async () => {
    const twin = { genTime: at(NOW - 5 * MIN), id: 7, sender: 'a@x', recipient: 'b@y' };
    // Twins right at a window's end too, so the next window's overlap lists them again.
    const edge = { genTime: at(NOW - 60_000 - 500), id: 8 };
    const records: Rec[] = [
      twin,
      { ...twin },
      { ...twin },
      edge,
      { ...edge },
      { genTime: at(NOW - 30 * MIN), id: 1 },
    ];
    const t = setup({ records });
    await drain(await t.make());
    expect(t.ids()).toEqual([1, 7, 7, 7, 8, 8]);
    // A restart a bit later re-reads the edge of the last window: nothing again.
    t.clock.advance(5 * MIN);
    await drain(await t.make());
    expect(t.ids()).toEqual([1, 7, 7, 7, 8, 8]);
    expect(t.totals().duplicates).toBe(2);
  });

  it('a restart in the middle of a window with twins sends the rest, each as many times as listed', async () => {
    const records: Rec[] = [];
    for (let i = 0; i < 30; i++) {
      const r = { genTime: at(NOW - 20 * MIN + i * 1_000), id: i };
      records.push(r, { ...r });
    }
    const t = setup({ records, limits: { batchEvents: 7 } });
    let batches = 0;
    t.setForward(async () => {
      if (++batches === 4) throw new DeliveryError('intake down', 7);
      await Promise.resolve();
    });
    expect(await stepUntilError(await t.make())).toBeInstanceOf(DeliveryError);
    expect(t.delivered).toHaveLength(21);
    t.setForward(undefined);
    await drain(await t.make());
    expect(t.ids()).toEqual(records.map((r) => r.id).sort((a, b) => a - b));
  });

  it('a read restarted from the window start (WindowPage.restart) counts its occurrences afresh', async () => {
    const r = { genTime: at(NOW - 20 * MIN), id: 1 };
    const records: Rec[] = [r, { ...r }];
    let reads = 0;
    const t = setup({
      records,
      // The first page lists one twin, then the read restarts and lists both: two delivered, not three.
      pages: () =>
        async function* () {
          await Promise.resolve();
          if (reads++ > 0) return;
          yield { logs: [{ genTime: r.genTime, id: 1 }], restart: false };
          yield { logs: [], restart: true };
          yield {
            logs: [
              { genTime: r.genTime, id: 1 },
              { genTime: r.genTime, id: 1 },
            ],
            restart: false,
          };
        },
      limits: { batchEvents: 1 },
    });
    await drain(await t.make());
    expect(t.ids()).toEqual([1, 1]);
  });

  it('records as delivered what a failing push says the intake acknowledged', async () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ genTime: at(NOW - 20 * MIN + i), id: i }));
    const t = setup({ records, limits: { batchEvents: 10 } });
    let first = true;
    t.setForward(async (events) => {
      if (first) {
        first = false;
        for (const i of [0, 1, 2]) t.delivered.push(JSON.parse(events[i]!));
        throw Object.assign(new DeliveryError('intake down', 7), { acknowledged: [0, 1, 2] });
      }
      await Promise.resolve();
    });
    expect(await stepUntilError(await t.make())).toBeInstanceOf(DeliveryError);
    t.setForward(undefined);
    // A new process: the acknowledged part was journaled before the error went on.
    await drain(await t.make());
    expect(t.ids()).toEqual(records.map((r) => r.id));
  });
});

describe('StreamCollector: durable trailing identities', () => {
  it('writes per acknowledged batch bytes that do not grow with the trailing period; compaction prunes', async () => {
    const records: Rec[] = [];
    // 90 minutes of steady traffic: 20 records a minute.
    for (let i = 0; i < 90 * 20; i++)
      records.push({ genTime: at(NOW - 60 * MIN + i * 3_000), id: i, pad: 'x'.repeat(50) });
    const t = setup({
      records,
      lateWindowMs: 30 * MIN,
      limits: { batchEvents: 20, compactionMinEntries: 200 },
    });
    const objects = t.store.objects;
    const writes: { name: string; bytes: number; ledger: number }[] = [];
    const save = objects.save.bind(objects);
    objects.save = async (name, document) => {
      writes.push({ name, bytes: JSON.stringify(document).length, ledger: 0 });
      await save(name, document);
    };
    const saveHead = t.store.save.bind(t.store);
    const headBytes: number[] = [];
    t.store.save = async (document) => {
      headBytes.push(JSON.stringify(document).length);
      await saveHead(document);
    };
    const collector = await t.make();
    await live(collector, t.clock, 30); // past records, then live for 30 minutes
    const early = writes.filter((w) => w.name.includes('journal')).slice(5, 25);
    await live(collector, t.clock, 30);
    const late = writes.filter((w) => w.name.includes('journal')).slice(-20);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // A journal segment holds one batch (20 identities): its size does not depend on the trailing period.
    expect(Math.max(...writes.filter((w) => w.name.includes('journal')).map((w) => w.bytes))).toBeLessThan(
      20 * 60,
    );
    expect(mean(late.map((w) => w.bytes))).toBeLessThan(mean(early.map((w) => w.bytes)) * 1.5);
    // The head stays small whatever the traffic.
    expect(Math.max(...headBytes)).toBeLessThan(1_500);
    // Compaction ran, and removed what it replaced: few objects left, the ledger pruned to the trailing period.
    const snapshots = writes.filter((w) => w.name.includes('snapshot'));
    expect(snapshots.length).toBeGreaterThan(0);
    const names = await objects.list('');
    expect(names.filter((n) => n.includes('snapshot'))).toHaveLength(1);
    const snapshot = (await objects.load(names.find((n) => n.includes('snapshot'))!)) as unknown[];
    // About late_window + hold of 3 s records, not the 1,800 delivered.
    expect(snapshot.length).toBeLessThan(900);
    expect(t.delivered).toHaveLength(new Set(t.ids()).size);
  });

  it('a new collector on the same store sends nothing twice (journal replayed), twins included', async () => {
    const records: Rec[] = [];
    for (let i = 0; i < 200; i++) {
      const r = { genTime: at(NOW - 30 * MIN + i * 5_000), id: i };
      records.push(r);
      if (i % 10 === 0) records.push({ ...r });
    }
    const t = setup({ records, lateWindowMs: 30 * MIN });
    await live(await t.make(), t.clock, 5);
    const before = t.delivered.length;
    expect(before).toBeGreaterThan(0);
    // Restarted (as after a SIGKILL: only what the store holds survives), more re-reads happen.
    const again = await t.make();
    await live(again, t.clock, 40);
    expect(t.ids()).toEqual(records.map((r) => r.id).sort((a, b) => a - b));
  });

  it('migrates a version-2 checkpoint: its delivered identities are not sent again', async () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ genTime: at(NOW - 20 * MIN + i * 1_000), id: i }));
    // What version 2 stored after delivering records 0-2 of its window (same identity hash).
    const store = versionTwoStore(records.slice(0, 3));
    const t = setup({ records, store });
    await drain(await t.make());
    expect(t.ids()).toEqual([3, 4, 5]);
    expect((store.document as { version: number }).version).toBe(3);
  });

  it('a kill after migrating and before the first head commit migrates nothing twice', async () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ genTime: at(NOW - 20 * MIN + i * 1_000), id: i }));
    // Record 0 was delivered by version 2; the API lists it twice (a genuine identical record).
    const api: Rec[] = [...records.slice(0, 1), ...records];
    const store = versionTwoStore(records.slice(0, 1));
    const t = setup({ records: api, store });
    // The first process is killed while its first batch is in flight: after ready(), before
    // any head commit (the head on disk is still version 2).
    let inFlight: () => void = () => undefined;
    const forwarding = new Promise<void>((resolve) => (inFlight = resolve));
    t.setForward(() => {
      inFlight();
      return new Promise<void>(() => undefined);
    });
    void (await t.make()).step(signal);
    await forwarding;
    expect((store.document as { version: number }).version).toBe(2);
    t.setForward(undefined);
    t.delivered.length = 0;
    await drain(await t.make());
    // Record 0: listed twice, delivered once by version 2, so forwarded once more.
    expect(t.ids()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('StreamCollector: late logs', () => {
  /** Steady traffic with the lateness mix: 70 % < 5 s, 25 % 5-120 s, 5 % 2-20 min. */
  function lateTraffic(minutes: number, perMinute: number): Rec[] {
    const records: Rec[] = [];
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const n = minutes * perMinute;
    for (let i = 0; i < n; i++) {
      const u = random();
      const late =
        u < 0.7 ? random() * 5_000 : u < 0.95 ? 5_000 + random() * 115_000 : 120_000 + random() * 18 * MIN;
      records.push({
        genTime: at(NOW + Math.floor((i * 60_000) / perMinute)),
        id: i,
        visibleAfterMs: Math.round(late),
      });
    }
    return records;
  }

  async function run(records: Rec[], lateWindowMs: number, minutes: number) {
    const t = setup({ records, lateWindowMs, limits: { batchEvents: 200 } });
    t.clock.set(NOW + 60_000);
    const collector = await t.make();
    // The first cursor: one minute back (firstRunLookback is an hour; use a small store start).
    await live(collector, t.clock, minutes);
    return t;
  }

  it('re-read passes find logs listed up to late_window late, count them and warn once', async () => {
    const records = lateTraffic(40, 30);
    const t = await run(records, 30 * MIN, 75);
    const due = records.filter((r) => Date.parse(r.genTime) <= NOW + 40 * MIN);
    expect(t.ids()).toEqual(due.map((r) => r.id));
    const totals = t.totals();
    expect(totals.late).toBeGreaterThan(0);
    expect(totals.latenessSeconds.some((s) => s > 120)).toBe(true);
    expect(t.logger.messages('warning').filter((m) => /listed \d+ log\(s\) late/.test(m))).toHaveLength(1);
    // Without late handling, the same traffic loses logs.
    const baseline = await run(records, 0, 75);
    expect(baseline.ids().length).toBeLessThan(due.length);
  });

  it.each([
    ['sparse', 1],
    ['dense', 400],
  ])(
    'keeps API requests within 4x the requests without late handling (%s traffic)',
    async (_kind, perMinute) => {
      const records = lateTraffic(40, perMinute).map((r) => ({ ...r, visibleAfterMs: 0 }));
      const withLate = await run(records, 30 * MIN, 75);
      const without = await run(records, 0, 75);
      expect(withLate.ids()).toEqual(without.ids());
      const ratio = withLate.api.requests / without.api.requests;
      console.log(
        `${_kind}: ${without.api.requests} requests without late handling, ${withLate.api.requests} with (x${ratio.toFixed(2)})`,
      );
      expect(ratio).toBeLessThanOrEqual(4);
      expect(withLate.totals().rereadPages).toBeGreaterThan(0);
    },
  );

  it('does not re-read a backlog already older than late_window when first read', async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({
      genTime: at(NOW - 60 * MIN + i * 1_000),
      id: i,
    }));
    const requests = async (lateWindowMs: number): Promise<number> => {
      const t = setup({ records, lateWindowMs, limits: { initialSpanMs: 5 * MIN, maxSpanMs: 5 * MIN } });
      await drain(await t.make());
      expect(t.ids()).toEqual(records.map((r) => r.id));
      return t.api.requests;
    };
    // Only the windows younger than late_window (the last 30 minutes) get re-reads.
    const withLate = await requests(30 * MIN);
    const without = await requests(0);
    expect(withLate - without).toBeLessThanOrEqual(3 * 6);
  });
});

describe('StreamCollector: nothing stalls a stream', () => {
  function deep(levels: number): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < levels; i++) value = { nested: value };
    return value;
  }

  it('forwards a record nested 5,000 levels deep in a safe form, counted; the rest goes on', async () => {
    const records: Rec[] = Array.from({ length: 10 }, (_, i) => ({
      genTime: at(NOW - 20 * MIN + i * 1_000),
      id: i,
    }));
    records[4] = { ...records[4]!, details: deep(5_000) };
    const t = setup({ records });
    await drain(await t.make());
    expect(t.ids()).toEqual(records.map((r) => r.id));
    expect(t.totals().unprocessable).toBe(1);
    expect(t.logger.messages('error').join('\n')).toMatch(/could not be processed.*Excerpt: \{/);
    expect(JSON.stringify(t.delivered[4])).toContain('[cut: nested more than');
    // Re-reading it later does not send it again (its safe form has a stable identity).
    t.clock.advance(2 * MIN);
    await drain(await t.make());
    expect(t.delivered).toHaveLength(10);
  });

  it('narrows a window that fails forever in its middle, sets the failing part aside, delivers the rest', async () => {
    const poisonAt = NOW - 20 * MIN;
    const records = Array.from({ length: 60 }, (_, i) => ({
      genTime: at(NOW - 30 * MIN + i * 20_000),
      id: i,
    }));
    const t = setup({
      records,
      limits: { initialSpanMs: 16 * MIN },
      pages: (api) => (stream, window, size, s) => {
        if (window.start <= poisonAt && window.end >= poisonAt) {
          api.requests++;
          throw new TransientError('HTTP 500 InternalServerError');
        }
        return api.pages(stream, window, size, s);
      },
    });
    const collector = await t.make();
    for (let i = 0; i < 300; i++) {
      if (await collector.step(signal).catch(() => false)) break;
    }
    expect(t.ids()).toEqual(
      records.map((r) => r.id).filter((id) => Date.parse(records[id]!.genTime) !== poisonAt),
    );
    expect(t.totals().setAside).toBe(1);
    const aside = collector.state.setAside;
    expect(aside).toHaveLength(1);
    expect(aside[0]!.end - aside[0]!.start).toBeLessThanOrEqual(2_000);
    expect(aside[0]!.start <= poisonAt && aside[0]!.end >= poisonAt).toBe(true);
    expect(t.logger.messages('error').join('\n')).toMatch(/set aside/);
  });

  it('an outage (every request failing) skips nothing: no window is set aside', async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({
      genTime: at(NOW - 30 * MIN + i * 30_000),
      id: i,
    }));
    let down = true;
    const t = setup({
      records,
      pages: (api) => (stream, window, size, s) => {
        if (down) throw new TransientError('connect ECONNREFUSED');
        return api.pages(stream, window, size, s);
      },
    });
    const collector = await t.make();
    for (let i = 0; i < 40; i++) await collector.step(signal).catch(() => undefined);
    expect(collector.state.setAside).toEqual([]);
    down = false;
    await drain(collector);
    expect(t.ids()).toEqual(records.map((r) => r.id));
    expect(t.totals().setAside).toBe(0);
  });

  it('reads a set-aside window again later, and delivers it once it works', async () => {
    const poisonAt = NOW - 20 * MIN;
    const records = Array.from({ length: 20 }, (_, i) => ({
      genTime: at(NOW - 25 * MIN + i * 30_000),
      id: i,
    }));
    let healed = false;
    const t = setup({
      records,
      pages: (api) => (stream, window, size, s) => {
        if (!healed && window.start <= poisonAt && window.end >= poisonAt)
          throw new TransientError('HTTP 500');
        return api.pages(stream, window, size, s);
      },
    });
    const collector = await t.make();
    for (let i = 0; i < 200 && collector.state.setAside.length === 0; i++)
      await collector.step(signal).catch(() => undefined);
    expect(collector.state.setAside).toHaveLength(1);
    await drain(collector);
    const missing = records.filter((r) => !t.ids().includes(r.id));
    expect(missing.length).toBeGreaterThan(0);
    healed = true;
    t.clock.advance(11 * MIN);
    await drain(collector);
    expect(t.ids()).toEqual(records.map((r) => r.id));
    expect(collector.state.setAside).toEqual([]);
    // Found by a set-aside retry, not by a late-log pass: not a late log.
    expect(t.totals().late).toBe(0);
    expect(t.logger.messages('warning').filter((m) => m.includes(' late, the latest about '))).toEqual([]);
  });

  it('bisects a failing window: after the first halving, one failed read per level, no regrowth over it', async () => {
    const poisonAt = NOW - 20 * MIN + 7_777;
    const records = Array.from({ length: 60 }, (_, i) => ({
      genTime: at(NOW - 30 * MIN + i * 20_000),
      id: i,
    }));
    let failedReads = 0;
    const t = setup({
      records,
      limits: { initialSpanMs: 16 * MIN },
      pages: (api) => (stream, window, size, s) => {
        if (window.start <= poisonAt && window.end >= poisonAt) {
          failedReads++;
          throw new TransientError('HTTP 500 InternalServerError');
        }
        return api.pages(stream, window, size, s);
      },
    });
    const collector = await t.make();
    for (let i = 0; i < 300 && collector.state.setAside.length === 0; i++)
      await collector.step(signal).catch(() => undefined);
    expect(collector.state.setAside).toHaveLength(1);
    // 16 min down to 2 s is 9 halvings: 3 failures before the first, at most one per level
    // after it, and one more at the minimal width before the neighbour probe. Without the
    // bisection (3 failures per level, the span growing back after each success): 40 or more.
    const levels = Math.ceil(Math.log2((16 * MIN) / 2_000));
    expect(failedReads).toBeLessThanOrEqual(3 + levels + 2);
  });
});
