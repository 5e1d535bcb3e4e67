import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { closeHttp, listenHttp } from './http';

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

/**
 * The connector metrics of the Python SDK, with the same names and the same `intake_key`
 * label, in a registry owned by this instance (the module registers its own metrics there).
 */
export class ConnectorMetrics {
  readonly registry: Registry;
  private readonly labels: { intake_key: string };
  private readonly forwardedEvents: Counter<'intake_key'>;
  private readonly forwardDuration: Histogram<'intake_key'>;
  private readonly discardedEvents: Counter<'intake_key'>;
  private readonly possiblyDuplicatedEvents: Counter<'intake_key'>;
  private readonly unidentifiedEvents: Counter<'intake_key'>;
  private readonly eventsLag: Gauge<'intake_key'>;

  constructor(options: ConnectorMetricsOptions) {
    const prefix = options.prefix ?? 'symphony_module_common';
    const registers = [(this.registry = new Registry())];
    const labelNames = ['intake_key'] as const;
    this.labels = { intake_key: options.intakeKey };
    // prometheus_client appends `_total` to counters; prom-client does not, so it is spelled out.
    this.forwardedEvents = new Counter({
      name: `${prefix}_forwarded_events_total`,
      help: 'Number of events forwarded to Sekoia.io',
      labelNames,
      registers,
    });
    this.forwardDuration = new Histogram({
      name: `${prefix}_forward_events_duration`,
      help: 'Duration to collect and forward events',
      labelNames,
      buckets: PYTHON_DEFAULT_BUCKETS,
      registers,
    });
    this.discardedEvents = new Counter({
      name: `${prefix}_discarded_events_total`,
      help: 'Number of events discarded from the collect',
      labelNames,
      registers,
    });
    // Not in the Python SDK (it neither knows nor counts these): named in the same style.
    this.possiblyDuplicatedEvents = new Counter({
      name: `${prefix}_possibly_duplicated_events_total`,
      help: 'Number of events sent again after the intake may have stored them (its answer was lost)',
      labelNames,
      registers,
    });
    this.unidentifiedEvents = new Counter({
      name: `${prefix}_unidentified_events_total`,
      help: 'Number of events the intake accepted (2xx) without returning their event id',
      labelNames,
      registers,
    });
    this.eventsLag = new Gauge({
      name: `${prefix}_events_lags`,
      help: 'The delay (seconds) from the date of the last event',
      labelNames,
      registers,
    });
    // Counters start at 0 so a dashboard sees "nothing forwarded yet", not "no connector".
    this.forwardedEvents.inc(this.labels, 0);
    this.discardedEvents.inc(this.labels, 0);
    this.possiblyDuplicatedEvents.inc(this.labels, 0);
    this.unidentifiedEvents.inc(this.labels, 0);
  }

  forwarded(count: number): void {
    this.forwardedEvents.inc(this.labels, count);
  }

  observeForwardDuration(seconds: number): void {
    this.forwardDuration.observe(this.labels, seconds);
  }

  discarded(count: number): void {
    this.discardedEvents.inc(this.labels, count);
  }

  possiblyDuplicated(count: number): void {
    this.possiblyDuplicatedEvents.inc(this.labels, count);
  }

  unidentified(count: number): void {
    this.unidentifiedEvents.inc(this.labels, count);
  }

  setLag(seconds: number): void {
    this.eventsLag.set(this.labels, seconds);
  }
}

export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  /** Default 0.0.0.0, like the Python exporter, so the platform can scrape the pod. */
  host?: string;
}

/** Prometheus exposition of one registry on every path, like prometheus_client's MetricsHandler. */
export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly options: MetricsServerOptions) {
    this.server = createServer((_request, response) => {
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

  /** Resolves with the bound port (useful with port 0). */
  start(): Promise<number> {
    return listenHttp(this.server, this.options.port, this.options.host ?? '0.0.0.0');
  }

  stop(): Promise<void> {
    return closeHttp(this.server);
  }
}
