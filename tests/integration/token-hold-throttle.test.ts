import { createHttpClient } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryCheckpointStore, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { Registry } from 'prom-client';
import { TmesSimulator, type ScriptedResponse, type TmesSimulatorOptions } from '../../simulator';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';
import { StreamMetrics } from '../../trigger_fetch_new_logs/metrics';
import type { CollectorSettings } from '../../trigger_fetch_new_logs/settings';
import { StreamCollector, type PageSource } from '../../trigger_fetch_new_logs/stream-collector';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import { ThrottleObserver } from '../../trigger_fetch_new_logs/throttle-observer';
import { TmesClient } from '../../trigger_fetch_new_logs/tmes-client';
import { identity } from './harness';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const RETRY_AFTER_S = 40;
const stream = STREAMS.accepted_traffic;

const settings: CollectorSettings = {
  baseUrl: 'http://127.0.0.1:1',
  username: 'demo',
  apiKey: 'demo-api-key',
  streams: ['accepted_traffic'],
  frequencyMs: MIN,
  // Several pages per 10-minute window: a window holds a token between its pages.
  pageSize: 5,
  firstRunLookbackMs: 3 * HOUR,
  delayMs: MIN,
  lateWindowMs: 0,
  outputFormat: 'raw',
  maxParallelRequests: 2,
};

function tooManyRequests(retryAfterSeconds: number): ScriptedResponse {
  return {
    status: 429,
    headers: { 'Retry-After': String(retryAfterSeconds) },
    body: '{"code":"TooManyRequests","message":"Too many requests."}',
  };
}

/**
 * A backlog read two windows at a time by the real TmesClient from the simulator on 127.0.0.1,
 * on a ManualClock both share, through two 429s (see below). The second's Retry-After, 40 s,
 * pauses the stream's requests (ThrottleObserver → AdaptiveConcurrency) longer than the 30 s a
 * token may be held (TokenPolicy.maxTokenHoldMs), while the other window waits for the permit.
 */
async function readBacklogThrough429(simulatorOptions: TmesSimulatorOptions) {
  const clock = new ManualClock(NOW);
  const logger = new MemoryLogger();
  const simulator = new TmesSimulator({ clock, ...simulatorOptions });
  simulator.generate({
    start: NOW - 3 * HOUR + MIN,
    end: NOW - 5 * MIN,
    counts: { accepted_traffic: 600 },
    seed: 5,
  });
  const baseUrl = await simulator.start();
  try {
    const concurrency = new AdaptiveConcurrency({ max: 2, clock });
    // K = 2 from the start (one answered page doubles it): two windows open at once.
    concurrency.answered(true);
    const client = new TmesClient({
      baseUrl,
      username: 'demo',
      apiKey: 'demo-api-key',
      http: createHttpClient({ timeoutMs: 2_000 }),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      observer: new ThrottleObserver(
        { succeeded: () => undefined, failed: () => undefined },
        new Map([[stream.name, concurrency]]),
      ),
    });
    // Two throttles, each once both open windows handed a page over since the last one: the
    // first (Retry-After 1 s) halves K to 1, so the two windows take turns on one permit and
    // the one waiting holds its token; the second (Retry-After 40 s) pauses the stream.
    let throttles = 0;
    const sinceLast = new Set<number>();
    const pages: PageSource = async function* (s, window, size, signal, holdClock) {
      for await (const page of client.pages(s, window, size, signal, holdClock)) {
        sinceLast.add(window.start);
        if (throttles < 2 && sinceLast.size === 2) {
          throttles++;
          sinceLast.clear();
          simulator.failNext(1, tooManyRequests(throttles === 1 ? 1 : RETRY_AFTER_S));
        }
        yield page;
      }
    };
    const delivered: string[] = [];
    const collector = new StreamCollector(
      {
        stream,
        settings,
        pages,
        forward: async (events) => {
          await Promise.resolve();
          for (const e of events) delivered.push(identity(JSON.parse(e)));
        },
        book: new CheckpointBook(new MemoryCheckpointStore(), logger),
        metrics: new StreamMetrics(new Registry()),
        clock,
        sleep: clock.sleep,
        logger,
        random: () => 0.5,
        concurrency,
        limits: { initialSpanMs: 10 * MIN },
      },
      undefined,
    );
    const signal = new AbortController().signal;
    let caughtUp = false;
    for (let i = 0; i < 100 && !caughtUp; i++) caughtUp = await collector.step(signal);
    expect(caughtUp).toBe(true);
    expect(throttles).toBe(2);
    const restarts = logger.messages().filter((m) => m.includes('again from its start'));
    const stored = simulator.records(stream.name).map((r) => identity(r));
    return { restarts, delivered, stored, logger, clock };
  } finally {
    await simulator.stop();
  }
}

describe('a Retry-After longer than the token hold limit, two windows open', () => {
  it('restarts no read: waiting for the API to allow a request is not holding the token', async () => {
    const { restarts, delivered, stored, logger, clock } = await readBacklogThrough429({});
    // The 429 was answered and waited out.
    expect(logger.messages('warning').some((m) => m.includes(`Retrying in ${RETRY_AFTER_S} s`))).toBe(true);
    expect(clock.slept).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000);
    expect(restarts).toEqual([]);
    expect(delivered.sort()).toEqual(stored.sort());
  });

  it('still restarts the read when the token really expired during the wait, and delivers everything once', async () => {
    // The API's tokens live 20 s (an unknown): one that waited out the 40 s is refused (400).
    const { restarts, delivered, stored } = await readBacklogThrough429({ tokenLifeMs: 20_000 });
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts.join('\n')).toMatch(/a page token was refused \(HTTP 400/);
    expect(delivered.sort()).toEqual(stored.sort());
  });
});
