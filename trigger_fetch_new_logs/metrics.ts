import { Counter, Gauge, type Registry } from 'prom-client';
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
    this.lagGauge = new Gauge({
      name: 'symphony_module_trend_micro_events_lag_seconds',
      help: 'How far behind now the stream cursor is',
      labelNames: ['type'],
      registers,
    });
  }

  for(stream: StreamName): StreamTotals {
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
      };
      this.totals.set(stream, totals);
    }
    return totals;
  }

  collected(stream: StreamName, n: number): void {
    this.for(stream).collected += n;
    this.collectedCounter.inc({ type: stream }, n);
  }

  forwarded(stream: StreamName, n: number): void {
    this.for(stream).forwarded += n;
    this.forwardedCounter.inc({ type: stream }, n);
  }

  duplicates(stream: StreamName, n: number): void {
    this.for(stream).duplicates += n;
    this.duplicatesCounter.inc({ type: stream }, n);
  }

  page(stream: StreamName): void {
    this.for(stream).pages += 1;
    this.pagesCounter.inc({ type: stream });
  }

  clamped(stream: StreamName, seconds: number): void {
    this.for(stream).clampedSeconds += seconds;
    this.clampedCounter.inc({ type: stream }, seconds);
  }

  truncated(stream: StreamName, n: number): void {
    this.for(stream).truncated += n;
    this.truncatedCounter.inc({ type: stream }, n);
  }

  lag(stream: StreamName, seconds: number): void {
    this.for(stream).lagSeconds = seconds;
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
}
