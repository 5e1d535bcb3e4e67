/**
 * The simulator's switches for what the TMES documentation leaves open about records: when a
 * record becomes listable, which time start/end filter on, how the bounds are read, and
 * identical twin records. Over real HTTP on 127.0.0.1, on a ManualClock.
 */
import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { STREAMS, type TmesRecord, generateDataset } from '../simulator/dataset';
import { TmesSimulator, type TmesSimulatorOptions } from '../simulator/tmes-simulator';
import {
  ISSUE9_VISIBILITY,
  canonical,
  checkDelivery,
  lateWindowSets,
  latenessMs,
  multiset,
} from './helpers/late-traffic';
import { drain, httpGet, iso, logUrl } from './helpers/simulator-http';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const timeOf = (record: TmesRecord): number => Date.parse(String(record.genTime));
const stampOf = (record: TmesRecord): number => Date.parse(String(record.timestamp));
const sorted = (records: readonly unknown[]): string[] => records.map(canonical).sort();

let clock: ManualClock;
let sim: TmesSimulator;

async function startWith(options: TmesSimulatorOptions): Promise<void> {
  await sim.stop();
  sim = new TmesSimulator({ clock, ...options });
  await sim.start();
}

beforeEach(async () => {
  clock = new ManualClock(NOW);
  sim = new TmesSimulator({ clock });
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
});

describe('per-record visibility delay', () => {
  const live = {
    start: NOW - 30 * MINUTE,
    end: NOW,
    counts: { accepted_traffic: 3000, policy_events: 500 },
    seed: 4,
  };
  const window = { start: iso(NOW - HOUR), end: iso(NOW + HOUR), limit: '500' };

  beforeEach(async () => {
    await startWith({ visibility: { buckets: ISSUE9_VISIBILITY }, seed: 21 });
    sim.generate(live);
  });

  it('draws each record a delay from the buckets, in their shares', () => {
    const delays = sim.timeline('accepted_traffic').map((e) => e.visibleAt - e.genTime);
    const share = (lo: number, hi: number): number =>
      delays.filter((d) => d >= lo && d <= hi).length / delays.length;
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_200_000);
    expect(share(0, 4_999)).toBeGreaterThan(0.65);
    expect(share(0, 4_999)).toBeLessThan(0.75);
    expect(share(5_001, 119_999)).toBeGreaterThan(0.2);
    expect(share(120_001, 1_200_000)).toBeGreaterThan(0.03);
    expect(share(120_001, 1_200_000)).toBeLessThan(0.07);
  });

  it('is deterministic from the seed, and another seed draws other delays', async () => {
    const first = sim.timeline('accepted_traffic').map((e) => e.visibleAt);
    await startWith({ visibility: { buckets: ISSUE9_VISIBILITY }, seed: 21 });
    sim.generate(live);
    expect(sim.timeline('accepted_traffic').map((e) => e.visibleAt)).toEqual(first);
    await startWith({ visibility: { buckets: ISSUE9_VISIBILITY }, seed: 22 });
    sim.generate(live);
    expect(sim.timeline('accepted_traffic').map((e) => e.visibleAt)).not.toEqual(first);
  });

  it('lists exactly the records visible at the clock, and late ones later in windows already read', async () => {
    const read = async (): Promise<TmesRecord[]> =>
      (await drain(sim.url, 'accepted_traffic', window)).records;
    const visibleAt = (t: number): TmesRecord[] =>
      sim
        .timeline('accepted_traffic')
        .filter((e) => e.visibleAt <= t)
        .map((e) => e.record);
    const first = await read();
    expect(sorted(first)).toEqual(sorted(visibleAt(NOW)));
    expect(first.length).toBeLessThan(3000);
    clock.advance(2 * MINUTE);
    const later = await read();
    expect(sorted(later)).toEqual(sorted(visibleAt(NOW + 2 * MINUTE)));
    expect(sorted(sim.visible('accepted_traffic', NOW + HOUR, NOW - HOUR, NOW))).toEqual(sorted(first));
    // Records from the first half of the window, listed only now.
    const appeared = later.filter((r) => !first.includes(r) && timeOf(r) < NOW - 15 * MINUTE);
    expect(appeared.length).toBeGreaterThan(0);
    clock.advance(20 * MINUTE);
    expect(await read()).toHaveLength(3000);
  });

  it('lists a record added after a read in the next read (nothing cached goes stale)', async () => {
    const before = await drain(sim.url, 'policy_events', window);
    const added = { genTime: iso(NOW - HOUR), mailID: 'added' };
    sim.add('policy_events', [added]);
    const delay = sim.timeline('policy_events').find((e) => e.record === added)?.visibleAt;
    expect(delay).toBeLessThanOrEqual(NOW - HOUR + 1_200_000);
    const after = await drain(sim.url, 'policy_events', window);
    expect(sorted(after.records)).toEqual(sorted([...before.records, added]));
  });

  it('adds the constant visibilityDelayMs to each record delay', () => {
    const own = sim.timeline('policy_events').map((e) => e.visibleAt - e.genTime);
    sim.set({ visibilityDelayMs: 30_000 });
    expect(sim.timeline('policy_events').map((e) => e.visibleAt - e.genTime)).toEqual(
      own.map((d) => d + 30_000),
    );
  });

  it('visible() agrees with a read at the same clock', async () => {
    clock.advance(MINUTE);
    const { records } = await drain(sim.url, 'policy_events', { start: iso(NOW - HOUR), end: iso(NOW) });
    expect(sorted(records)).toEqual(sorted(sim.visible('policy_events', NOW, NOW - HOUR)));
  });

  it('keeps a read on the set listed at its first page while more records become visible', async () => {
    const params = { ...window, limit: '400' };
    const whole = await drain(sim.url, 'accepted_traffic', params);
    const first = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', params))).text) as {
      nextToken: string;
      logs: TmesRecord[];
    };
    clock.advance(10 * MINUTE);
    const rest = await drain(sim.url, 'accepted_traffic', { ...params, token: first.nextToken });
    expect(sorted([...first.logs, ...rest.records])).toEqual(sorted(whole.records));
    expect((await drain(sim.url, 'accepted_traffic', params)).records.length).toBeGreaterThan(
      whole.records.length,
    );
  });

  it('late-traffic helper: a read at T holds every record of the late window and nothing else', async () => {
    clock.advance(3 * MINUTE);
    const until = NOW - 10 * MINUTE;
    const { records } = await drain(sim.url, 'accepted_traffic', { start: iso(NOW - HOUR), end: iso(until) });
    const timeline = sim.timeline('accepted_traffic');
    const answer = lateWindowSets(timeline, { lateWindowMs: 5 * MINUTE, untilMs: until, atMs: clock.now() });
    expect(answer.must.length).toBeGreaterThan(0);
    expect(answer.must.length).toBeLessThan(answer.may.length);
    expect(checkDelivery(records, answer)).toEqual({ missing: [], extra: [] });
    // A collector that read too early misses what came late; one that re-reads twice duplicates.
    expect(checkDelivery(records.slice(1), answer).missing).toHaveLength(1);
    expect(checkDelivery([...records, records[0]], answer).extra).toHaveLength(1);
    const late = timeline.filter((e) => latenessMs(e) > 5 * MINUTE && e.visibleAt <= clock.now());
    expect(late.length).toBeGreaterThan(0);
  });
});

describe('filter field and genTime lag', () => {
  const options = {
    start: NOW - 2 * HOUR,
    end: NOW - HOUR,
    counts: { accepted_traffic: 800, policy_events: 300 },
    seed: 8,
  };

  it('generates genTime up to genTimeLagMs after timestamp, leaving genTimes unchanged', () => {
    const plain = generateDataset(options);
    const lagged = generateDataset({ ...options, genTimeLagMs: 5 * MINUTE });
    for (const stream of ['accepted_traffic', 'policy_events'] as const) {
      const lags = lagged[stream].map((r) => timeOf(r) - stampOf(r));
      expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
      // Mail-tracking timestamps are to the second; recipients of one message differ < 1 s.
      expect(Math.max(...lags)).toBeLessThan(5 * MINUTE + 2_000);
      expect(lags.filter((lag) => lag > 79_000).length).toBeGreaterThan(lags.length / 2);
      expect(lagged[stream].map((r) => r.genTime)).toEqual(plain[stream].map((r) => r.genTime));
    }
    expect(plain.accepted_traffic.some((r) => stampOf(r) > timeOf(r))).toBe(true);
  });

  it('filters on timestamp: a log generated after its window was read appears in it (the quarantined sample)', async () => {
    const quarantined = { genTime: iso(NOW + 79_000), timestamp: iso(NOW - 60_000), mailID: 'q' };
    const ordinary = { genTime: iso(NOW - 30_000), timestamp: iso(NOW - 45_000), mailID: 'o' };
    const window = { start: iso(NOW - 2 * MINUTE), end: iso(NOW - 40_000) };
    await startWith({ filterField: 'timestamp' });
    sim.add('accepted_traffic', [quarantined, ordinary]);
    expect((await drain(sim.url, 'accepted_traffic', window)).records).toEqual([ordinary]);
    clock.advance(80_000);
    expect((await drain(sim.url, 'accepted_traffic', window)).records).toEqual([quarantined, ordinary]);
    expect(sim.visible('accepted_traffic', NOW - 40_000, NOW - 2 * MINUTE)).toEqual([quarantined, ordinary]);
    // On genTime (the default), neither record is in that window.
    sim.set({ filterField: 'genTime' });
    expect((await drain(sim.url, 'accepted_traffic', window)).statuses).toEqual([204]);
  });

  it('filters a record without a valid timestamp on its genTime', async () => {
    await startWith({ filterField: 'timestamp' });
    sim.add('blocked_traffic', [{ genTime: iso(NOW - MINUTE), mailID: 'no-stamp' }]);
    const result = await drain(sim.url, 'blocked_traffic', {
      start: iso(NOW - MINUTE),
      end: iso(NOW - MINUTE),
    });
    expect(result.records).toEqual([{ genTime: iso(NOW - MINUTE), mailID: 'no-stamp' }]);
  });

  it.each(['asc', 'desc', 'random'] as const)(
    'serves a lagged dataset on timestamp exactly once in %s order',
    async (order) => {
      await startWith({ filterField: 'timestamp', order });
      sim.generate({ ...options, genTimeLagMs: 5 * MINUTE });
      const from = NOW - 90 * MINUTE;
      const to = NOW - 70 * MINUTE;
      const { records } = await drain(sim.url, 'accepted_traffic', {
        start: iso(from),
        end: iso(to),
        limit: '37',
      });
      const expected = sim.records('accepted_traffic').filter((r) => stampOf(r) >= from && stampOf(r) <= to);
      expect(expected.length).toBeGreaterThan(50);
      expect(sorted(records)).toEqual(sorted(expected));
      const stamps = records.map(stampOf);
      if (order === 'asc') expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    },
  );
});

describe('bound handling', () => {
  const t1 = Date.UTC(2026, 0, 10, 10, 0, 0);
  const t2 = Date.UTC(2026, 0, 10, 10, 5, 0);
  const records = [
    { genTime: iso(t1 + 200), mailID: 'a' },
    { genTime: iso(t1 + 600), mailID: 'b' },
    { genTime: iso(t2), mailID: 'c' },
    { genTime: iso(t2 + 300), mailID: 'd' },
  ];
  const ids = async (start: number, end: number): Promise<unknown[]> =>
    (await drain(sim.url, 'accepted_traffic', { start: iso(start), end: iso(end) })).records.map(
      (r) => r.mailID,
    );

  beforeEach(() => {
    sim.add('accepted_traffic', records);
  });

  it('reads bounds to the millisecond by default', async () => {
    expect(await ids(t1 + 500, t2 + 700)).toEqual(['b', 'c', 'd']);
  });

  it("boundPrecision 's' truncates start and end to the second", async () => {
    sim.set({ boundPrecision: 's' });
    expect(await ids(t1 + 500, t2 + 700)).toEqual(['a', 'b', 'c']);
  });

  it('endInclusive false leaves out a record at exactly end', async () => {
    expect(await ids(t1, t2)).toEqual(['a', 'b', 'c']);
    sim.set({ endInclusive: false });
    expect(await ids(t1, t2)).toEqual(['a', 'b']);
    expect(await ids(t1 + 200, t2 + 1)).toEqual(['a', 'b', 'c']);
  });
});

describe('identical twin records', () => {
  const options = {
    start: NOW - 2 * HOUR,
    end: NOW - HOUR,
    counts: { accepted_traffic: 500, blocked_traffic: 1000, policy_events: 200 },
    seed: 13,
  };

  it('replaces twinRate of the records by exact copies of their predecessor; counts stay exact', () => {
    const plain = generateDataset(options);
    const twinned = generateDataset({ ...options, twinRate: 0.1 });
    expect(generateDataset({ ...options, twinRate: 0.1 })).toEqual(twinned);
    for (const stream of STREAMS) {
      const list = twinned[stream];
      expect(list).toHaveLength(options.counts[stream]);
      let twins = 0;
      list.forEach((record, i) => {
        if (i > 0 && canonical(record) === canonical(list[i - 1])) {
          twins++;
          expect(record).not.toBe(list[i - 1]);
        } else expect(record).toEqual(plain[stream][i]);
      });
      expect(twins).toBeGreaterThan(options.counts[stream] * 0.05);
      expect(twins).toBeLessThan(options.counts[stream] * 0.15);
    }
    const distinct = (list: TmesRecord[]): number => multiset(list).size;
    expect(distinct(plain.blocked_traffic)).toBe(1000);
  });

  it('serves twins as separate entries', async () => {
    sim.generate({ ...options, twinRate: 0.1 });
    const { records } = await drain(sim.url, 'blocked_traffic', {
      start: iso(options.start),
      end: iso(options.end),
      limit: '100',
    });
    expect(records).toHaveLength(1000);
    const counts = multiset(records);
    expect([...counts.values()].some((n) => n >= 2)).toBe(true);
    expect(counts).toEqual(multiset(sim.records('blocked_traffic')));
  });
});
