import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { StreamName } from './streams';

/**
 * Per-stream figures, labelled by `type` (the stream) as the Python module's metrics are.
 * Never labelled with a key: labels are visible to whoever scrapes the endpoint. Counter
 * names carry `_total` explicitly (prom-client does not add it; Python's client does).
 */
export class StreamMetrics {
  private readonly collectedCounter: Counter<'type'>;
  private readonly forwardedCounter: Counter<'type'>;
  private readonly duplicatesCounter: Counter<'type'>;
  private readonly pagesCounter: Counter<'type'>;
  private readonly clampedCounter: Counter<'type'>;
  private readonly truncatedCounter: Counter<'type'>;
  private readonly lagGauge: Gauge<'type'>;
  private readonly lateCounter: Counter<'type'>;
  private readonly latenessHistogram: Histogram<'type'>;
  private readonly rereadPagesCounter: Counter<'type'>;
  private readonly poisonCounter: Counter<'type'>;
  private readonly setAsideCounter: Counter<'type'>;
  /** Plain totals for summaries and tests (prom-client reads are async). */
  readonly totals = new Map<StreamName, StreamTotals>();

  constructor(registry: Registry) {
    const registers = [registry];
    const counter = (name: string, help: string): Counter<'type'> =>
      new Counter({
        name: `symphony_module_trend_micro_${name}_total`,
        help,
        labelNames: ['type'],
        registers,
      });
    this.collectedCounter = counter('collected_messages', 'Records read from the Trend Micro API');
    this.forwardedCounter = counter('forwarded_messages', 'Records acknowledged by the intake');
    this.duplicatesCounter = counter(
      'duplicates_dropped',
      'Re-read records dropped by dedup at window edges',
    );
    this.pagesCounter = counter('pages', 'API pages read');
    this.clampedCounter = counter(
      'clamped_seconds',
      'Seconds of logs skipped because the cursor was older than the API 72-hour horizon',
    );
    this.truncatedCounter = counter('truncated_records', 'Records cut to fit the 250 kB intake event limit');
    this.lateCounter = counter(
      'late_messages',
      'Records first found by a re-read pass (listed late by the API)',
    );
    this.latenessHistogram = new Histogram({
      name: 'symphony_module_trend_micro_late_seconds',
      help: 'How old late records were when a re-read pass found them (seconds after their time)',
      labelNames: ['type'],
      buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
      registers,
    });
    this.rereadPagesCounter = counter('reread_pages', 'API pages read again by late-log re-read passes');
    this.poisonCounter = counter(
      'unprocessable_records',
      'Records that could not be processed as they were (too deep, too odd): forwarded in a safe form or skipped',
    );
    this.setAsideCounter = counter(
      'set_aside_windows',
      'Minimal time windows that kept failing while the API worked, set aside to be read again later',
    );
    this.lagGauge = new Gauge({
      name: 'symphony_module_trend_micro_events_lag_seconds',
      help: 'How far behind now the stream cursor is',
      labelNames: ['type'],
      registers,
    });
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
    this.totalsOf(stream).collected += n;
    this.collectedCounter.inc({ type: stream }, n);
  }

  forwarded(stream: StreamName, n: number): void {
    this.totalsOf(stream).forwarded += n;
    this.forwardedCounter.inc({ type: stream }, n);
  }

  duplicates(stream: StreamName, n: number): void {
    this.totalsOf(stream).duplicates += n;
    this.duplicatesCounter.inc({ type: stream }, n);
  }

  page(stream: StreamName): void {
    this.totalsOf(stream).pages += 1;
    this.pagesCounter.inc({ type: stream });
  }

  clamped(stream: StreamName, seconds: number): void {
    this.totalsOf(stream).clampedSeconds += seconds;
    this.clampedCounter.inc({ type: stream }, seconds);
  }

  truncated(stream: StreamName, n: number): void {
    this.totalsOf(stream).truncated += n;
    this.truncatedCounter.inc({ type: stream }, n);
  }

  /** A record found by a re-read pass, `seconds` after its time, was acknowledged. */
  late(stream: StreamName, seconds: number): void {
    const totals = this.totalsOf(stream);
    totals.late += 1;
    if (totals.latenessSeconds.length < 10_000) totals.latenessSeconds.push(seconds);
    this.lateCounter.inc({ type: stream });
    this.latenessHistogram.observe({ type: stream }, seconds);
  }

  rereadPage(stream: StreamName): void {
    this.totalsOf(stream).rereadPages += 1;
    this.rereadPagesCounter.inc({ type: stream });
  }

  unprocessable(stream: StreamName): void {
    this.totalsOf(stream).unprocessable += 1;
    this.poisonCounter.inc({ type: stream });
  }

  setAside(stream: StreamName): void {
    this.totalsOf(stream).setAside += 1;
    this.setAsideCounter.inc({ type: stream });
  }

  lag(stream: StreamName, seconds: number): void {
    this.totalsOf(stream).lagSeconds = seconds;
    this.lagGauge.set({ type: stream }, seconds);
  }
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
