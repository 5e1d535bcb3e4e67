import { Registry, type Counter, type Gauge, type Histogram } from 'prom-client';
import { ListeningServer, type ListenOptions } from './http-server';
import { metricFactory } from './metric-factory';

/**
 * The Python SDK's default histogram buckets (prometheus_client), not prom-client's: Sekoia
 * dashboards aggregate `le` series and expect the same boundaries from every connector.
 */
const PYTHON_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

export interface ConnectorMetricsOptions {
  /** The label value of every series, as the Python SDK does (dashboards filter on it). */
  intakeKey: string;
  /** Metric namespace; keep the default so Sekoia dashboards find the series. */
  prefix?: string;
}

type CountedEvents = 'forwarded' | 'discarded' | 'possiblyDuplicated' | 'unidentified';

/**
 * Each event counter: name after the prefix, and help. prometheus_client appends `_total` to
 * counters; prom-client does not, so it is spelled out. Dashboards depend on these: keep them.
 */
const COUNTERS: Record<CountedEvents, readonly [name: string, help: string]> = {
  forwarded: ['forwarded_events_total', 'Number of events forwarded to Sekoia.io'],
  discarded: ['discarded_events_total', 'Number of events discarded from the collect'],
  // Not in the Python SDK (it neither knows nor counts these two): named in the same style.
  possiblyDuplicated: [
    'possibly_duplicated_events_total',
    'Number of events sent again after the intake may have stored them (its answer was lost)',
  ],
  unidentified: [
    'unidentified_events_total',
    'Number of events the intake accepted (2xx) without returning their event id',
  ],
};

/**
 * The connector metrics of the Python SDK, with the same names and the same `intake_key`
 * label, in a registry owned by this instance (the module registers its own metrics there).
 */
export class ConnectorMetrics {
  readonly registry = new Registry();
  private readonly labels: { intake_key: string };
  private readonly counters: Record<CountedEvents, Counter<'intake_key'>>;
  private readonly forwardDuration: Histogram<'intake_key'>;
  private readonly eventsLag: Gauge<'intake_key'>;

  constructor(options: ConnectorMetricsOptions) {
    const prefix = options.prefix ?? 'symphony_module_common';
    const make = metricFactory(this.registry, ['intake_key']);
    this.labels = { intake_key: options.intakeKey };
    const counter = (events: CountedEvents): Counter<'intake_key'> =>
      make.counter(`${prefix}_${COUNTERS[events][0]}`, COUNTERS[events][1]);
    // Registered in the Python SDK's order (forwarded, duration, discarded), then ours.
    const forwarded = counter('forwarded');
    this.forwardDuration = make.histogram(
      `${prefix}_forward_events_duration`,
      'Duration to collect and forward events',
      PYTHON_DEFAULT_BUCKETS,
    );
    this.counters = {
      forwarded,
      discarded: counter('discarded'),
      possiblyDuplicated: counter('possiblyDuplicated'),
      unidentified: counter('unidentified'),
    };
    this.eventsLag = make.gauge(
      `${prefix}_events_lags`,
      'The delay (seconds) from the date of the last event',
    );
    // Counters start at 0 so a dashboard sees "nothing forwarded yet", not "no connector".
    for (const c of Object.values(this.counters)) c.inc(this.labels, 0);
  }

  forwarded(count: number): void {
    this.counters.forwarded.inc(this.labels, count);
  }

  observeForwardDuration(seconds: number): void {
    this.forwardDuration.observe(this.labels, seconds);
  }

  discarded(count: number): void {
    this.counters.discarded.inc(this.labels, count);
  }

  possiblyDuplicated(count: number): void {
    this.counters.possiblyDuplicated.inc(this.labels, count);
  }

  unidentified(count: number): void {
    this.counters.unidentified.inc(this.labels, count);
  }

  setLag(seconds: number): void {
    this.eventsLag.set(this.labels, seconds);
  }
}

export interface MetricsServerOptions extends ListenOptions {
  registry: Registry;
}

/** Prometheus exposition of one registry on every path, like prometheus_client's MetricsHandler. */
export class MetricsServer extends ListeningServer {
  constructor(options: MetricsServerOptions) {
    super(options, (_request, response) => {
      options.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          response.end(`metrics collection failed: ${error instanceof Error ? error.message : 'unknown'}`);
        },
      );
    });
  }
}
