import { TransientError } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import {
  StreamCollector,
  type Forwarder,
  type PageSource,
} from '../../trigger_fetch_new_logs/stream-collector';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';
import { gatedPages } from '../../trigger_fetch_new_logs/request-gate';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import type { TimeWindow } from '../../trigger_fetch_new_logs/tmes-client';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const MIN = 60_000;

const settings: CollectorSettings = {
  baseUrl: 'http://127.0.0.1:1',
  username: 'u',
  apiKey: 'k',
  streams: ['accepted_traffic'],
  frequencyMs: MIN,
  pageSize: 10,
  firstRunLookbackMs: 30 * MIN,
  delayMs: MIN,
  lateWindowMs: 0,
  outputFormat: 'raw',
};

const at = (ms: number): string => new Date(ms).toISOString();

/** One record every 20 s over the last 30 minutes. */
const records = Array.from({ length: 90 }, (_, id) => ({ id, genTime: at(NOW - 30 * MIN + id * 20_000) }));

function inWindow(window: TimeWindow): typeof records {
  return records.filter((r) => Date.parse(r.genTime) >= window.start && Date.parse(r.genTime) <= window.end);
}

function collectorOver(pages: PageSource, forward: Forwarder = () => Promise.resolve()): StreamCollector {
  const clock = new ManualClock(NOW);
  const logger = new MemoryLogger();
  return new StreamCollector(
    {
      stream: STREAMS.accepted_traffic,
      settings,
      pages,
      forward,
      book: new CheckpointBook(new MemoryCheckpointStore(), logger),
      metrics: new StreamMetrics(new Registry()),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      limits: { batchEvents: 5, initialSpanMs: 16 * MIN },
    },
    undefined,
  );
}

describe('every page request holds one of the stream permits', () => {
  it('the probe next to a window that keeps failing goes through the gate too', async () => {
    const poisonAt = NOW - 20 * MIN;
    const requested: TimeWindow[] = [];
    const withoutPermit: TimeWindow[] = [];
    const gate: { collector?: StreamCollector } = {};
    const pages: PageSource = async function* (_stream, window, pageSize) {
      requested.push(window);
      // Each page request runs when its page is asked for: under the gate, holding a permit.
      const request = async (): Promise<void> => {
        await Promise.resolve();
        if (gate.collector?.concurrency.inFlight === 0) withoutPermit.push(window);
      };
      await request();
      if (window.start <= poisonAt && window.end >= poisonAt) throw new TransientError('HTTP 500');
      const listed = inWindow(window);
      for (let i = 0; i < listed.length; i += pageSize) {
        if (i > 0) await request();
        yield { logs: listed.slice(i, i + pageSize), restart: false };
      }
    };
    const collector = collectorOver(pages);
    gate.collector = collector;
    const signal = new AbortController().signal;
    for (let i = 0; i < 300 && collector.state.setAside.length === 0; i++)
      await collector.step(signal).catch(() => undefined);
    const aside = collector.state.setAside[0];
    expect(aside).toBeDefined();
    // The neighbour probe was read (the minimal window just before the set-aside one)...
    expect(requested.some((w) => w.end === aside!.start - 1)).toBe(true);
    // ...holding a permit, as every other request.
    expect(withoutPermit).toEqual([]);
  });

  it.each([
    ['honours its signal (the request is abandoned)', true],
    ['ignores its signal (the permit goes back all the same)', false],
  ])(
    'a read that stops early gives back the permit of the page it requested ahead: a source that %s',
    async (_how, honoursAbort) => {
      const test = new AbortController();
      let abandoned = false;
      const pages: PageSource = async function* (_stream, window, _pageSize, signal) {
        yield { logs: inWindow(window).slice(0, 10), restart: false };
        // The next page never comes (a request under retries, minutes long) unless it is aborted.
        await new Promise<void>((_resolve, reject) => {
          const onAbort = (): void => {
            abandoned = true;
            reject(new DOMException('aborted', 'AbortError'));
          };
          if (honoursAbort) signal.addEventListener('abort', onAbort, { once: true });
          test.signal.addEventListener('abort', onAbort, { once: true });
        });
      };
      const collector = collectorOver(pages, () => Promise.reject(new TransientError('the intake is down')));
      await expect(collector.step(new AbortController().signal)).rejects.toThrow('the intake is down');
      // The read stopped on the forwarding failure while its next page was being requested.
      expect(collector.concurrency.inFlight).toBe(0);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(abandoned).toBe(honoursAbort);
      test.abort();
    },
  );
});

describe('a page request given up (aborted)', () => {
  it.each([
    ['honours its signal', true],
    ['ignores its signal', false],
  ])(
    'does not count as a round trip (K estimate unchanged): a source that %s',
    async (_how, honoursAbort) => {
      const clock = new ManualClock(NOW);
      const k = new AdaptiveConcurrency({ max: 4, clock });
      // One request measured at 300 ms.
      const measured = await k.acquire(clock.sleep, new AbortController().signal);
      clock.advance(300);
      measured();
      expect(k.roundTrip).toBe(300);
      const pages: PageSource = async function* (_stream, _window, _pageSize, signal) {
        // The page never comes unless the request is aborted.
        await new Promise<void>((_resolve, reject) => {
          if (honoursAbort)
            signal.addEventListener(
              'abort',
              () => {
                reject(new DOMException('aborted', 'AbortError'));
              },
              { once: true },
            );
        });
        yield { logs: [], restart: false };
      };
      const controller = new AbortController();
      const iterator = gatedPages(pages, k, clock.sleep, clock)(
        STREAMS.accepted_traffic,
        { start: NOW - MIN, end: NOW },
        10,
        controller.signal,
      )[Symbol.asyncIterator]();
      const next = iterator.next().catch(() => undefined);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(k.inFlight).toBe(1);
      clock.advance(10);
      controller.abort();
      if (honoursAbort) await next;
      expect(k.inFlight).toBe(0);
      expect(k.roundTrip).toBe(300);
    },
  );
});
