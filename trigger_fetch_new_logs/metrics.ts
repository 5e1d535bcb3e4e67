import { metricFactory, type MetricFactory } from '@sekoia/automation-sdk-shim';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StreamName } from './streams';

const PREFIX = 'symphony_module_trend_micro';

/** The totals that only ever grow, each with its counter. */
type CountedTotal = Exclude<keyof StreamTotals, 'lagSeconds' | 'latenessSeconds'>;

/**
 * Each counted total's counter: name (without prefix and `_total`) and help, in registration
 * order. Dashboards depend on these names and help texts: do not change them.
 */
const COUNTERS: Record<CountedTotal, readonly [name: string, help: string]> = {
  collected: ['collected_messages', 'Records read from the Trend Micro API'],
  forwarded: ['forwarded_messages', 'Records acknowledged by the intake'],
  duplicates: ['duplicates_dropped', 'Re-read records dropped by dedup at window edges'],
  pages: ['pages', 'API pages read'],
  clampedSeconds: [
    'clamped_seconds',
    'Seconds of logs skipped because the cursor was older than the API 72-hour horizon',
  ],
  truncated: ['truncated_records', 'Records cut to fit the 250 kB intake event limit'],
  late: ['late_messages', 'Records first found by a re-read pass (listed late by the API)'],
  rereadPages: ['reread_pages', 'API pages read again by late-log re-read passes'],
  unprocessable: [
    'unprocessable_records',
    'Records that could not be processed as they were (too deep, too odd): forwarded in a safe form or skipped',
  ],
  setAside: [
    'set_aside_windows',
    'Minimal time windows that kept failing while the API worked, set aside to be read again later',
  ],
};

/**
 * Per-stream figures, labelled by `type` (the stream) as the Python module's metrics are.
 * Never labelled with a key: labels are visible to whoever scrapes the endpoint. Counter
 * names carry `_total` explicitly (prom-client does not add it; Python's client does).
 */
export class StreamMetrics {
  private readonly counters: Record<CountedTotal, Counter<'type'>>;
  private readonly latenessHistogram: Histogram<'type'>;
  private readonly lagGauge: Gauge<'type'>;
  /** Plain totals for summaries and tests (prom-client reads are async). */
  readonly totals = new Map<StreamName, StreamTotals>();

  constructor(registry: Registry) {
    const make = metricFactory(registry, ['type']);
    this.counters = buildCounters(make);
    this.latenessHistogram = make.histogram(
      `${PREFIX}_late_seconds`,
      'How old late records were when a re-read pass found them (seconds after their time)',
      [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    );
    this.lagGauge = make.gauge(`${PREFIX}_events_lag_seconds`, 'How far behind now the stream cursor is');
  }

  /** The plain totals of `stream`, created at zero on first use. */
  totalsOf(stream: StreamName): StreamTotals {
    let totals = this.totals.get(stream);
    if (totals === undefined) {
      totals = {
        collected: 0,
        forwarded: 0,
        duplicates: 0,
        pages: 0,
        clampedSeconds: 0,
        truncated: 0,
        lagSeconds: 0,
        late: 0,
        latenessSeconds: [],
        rereadPages: 0,
        unprocessable: 0,
        setAside: 0,
      };
      this.totals.set(stream, totals);
    }
    return totals;
  }

  collected(stream: StreamName, n: number): void {
    this.count(stream, 'collected', n);
  }

  forwarded(stream: StreamName, n: number): void {
    this.count(stream, 'forwarded', n);
  }

  duplicates(stream: StreamName, n: number): void {
    this.count(stream, 'duplicates', n);
  }

  page(stream: StreamName): void {
    this.count(stream, 'pages', 1);
  }

  clamped(stream: StreamName, seconds: number): void {
    this.count(stream, 'clampedSeconds', seconds);
  }

  truncated(stream: StreamName, n: number): void {
    this.count(stream, 'truncated', n);
  }

  /** A record found by a re-read pass, `seconds` after its time, was acknowledged. */
  late(stream: StreamName, seconds: number): void {
    this.count(stream, 'late', 1);
    const totals = this.totalsOf(stream);
    if (totals.latenessSeconds.length < 10_000) totals.latenessSeconds.push(seconds);
    this.latenessHistogram.observe({ type: stream }, seconds);
  }

  rereadPage(stream: StreamName): void {
    this.count(stream, 'rereadPages', 1);
  }

  unprocessable(stream: StreamName): void {
    this.count(stream, 'unprocessable', 1);
  }

  setAside(stream: StreamName): void {
    this.count(stream, 'setAside', 1);
  }

  lag(stream: StreamName, seconds: number): void {
    this.totalsOf(stream).lagSeconds = seconds;
    this.lagGauge.set({ type: stream }, seconds);
  }

  /** Adds `n` to the plain total and to its counter, so the two never disagree. */
  private count(stream: StreamName, total: CountedTotal, n: number): void {
    this.totalsOf(stream)[total] += n;
    this.counters[total].inc({ type: stream }, n);
  }
}

function buildCounters(make: MetricFactory<'type'>): Record<CountedTotal, Counter<'type'>> {
  const entries = Object.entries(COUNTERS) as [CountedTotal, readonly [string, string]][];
  const counters = entries.map(([total, [name, help]]) => [
    total,
    make.counter(`${PREFIX}_${name}_total`, help),
  ]);
  return Object.fromEntries(counters) as Record<CountedTotal, Counter<'type'>>;
}

export interface StreamTotals {
  collected: number;
  forwarded: number;
  duplicates: number;
  pages: number;
  clampedSeconds: number;
  truncated: number;
  lagSeconds: number;
  late: number;
  /** The first 10,000 lateness observations (tests, summaries). */
  latenessSeconds: number[];
  rereadPages: number;
  unprocessable: number;
  setAside: number;
}
