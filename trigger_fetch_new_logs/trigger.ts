import {
  Connector,
  createHttpClient,
  describeError,
  isFatal,
  type ConfigurationSchema,
  type ConnectorOptions,
} from '@sekoia/automation-sdk-shim';
import type { AxiosInstance } from 'axios';
import triggerManifest from '../trigger_fetch_new_logs.json';
import { CheckpointBook } from './checkpoint';
import { StreamMetrics } from './metrics';
import { ServerTime } from './server-time';
import { normalize } from './normalizer';
import { toCollectorSettings, type CollectorSettings, type FetchNewLogsConfiguration } from './settings';
import { StreamCollector, type CollectorLimits } from './stream-collector';
import { STREAMS, type StreamName } from './streams';
import { TmesClient } from './tmes-client';
import type { WindowPage } from './window-page';

export interface FetchNewLogsOptions extends ConnectorOptions {
  /** HTTP client for the Trend Micro API (tests shorten its timeout). */
  tmesHttp?: AxiosInstance;
  collectorLimits?: Partial<CollectorLimits>;
}

/**
 * Fetch new logs: the three TMES streams collected concurrently into the intake. Each stream
 * keeps its own cursor and recovers from its own transient failures; a stream that hits a
 * configuration or authentication error stops and says why, the others go on. When every
 * stream has stopped that way, the error goes up to the runtime (one critical log, then idle).
 */
export class FetchNewLogsTrigger extends Connector<FetchNewLogsConfiguration> {
  protected readonly configurationSchema = triggerManifest.arguments as ConfigurationSchema;
  readonly streamMetrics: StreamMetrics;
  private readonly tmesHttp: AxiosInstance;
  private readonly collectorLimits: Partial<CollectorLimits>;

  constructor(options: FetchNewLogsOptions) {
    super(options);
    this.streamMetrics = new StreamMetrics(this.metrics.registry);
    this.tmesHttp =
      options.tmesHttp ??
      createHttpClient({ timeoutMs: 120_000, userAgent: 'sekoiaio-trend-micro-email-security' });
    this.collectorLimits = options.collectorLimits ?? {};
  }

  /** The Basic authorization value holds the API key too, base64-encoded with the Login ID. */
  protected override extraSecrets(configuration: FetchNewLogsConfiguration): unknown[] {
    const basic = Buffer.from(`${configuration.username.trim()}:${configuration.api_key.trim()}`).toString(
      'base64',
    );
    return [...super.extraSecrets(configuration), basic];
  }

  protected async run(signal: AbortSignal): Promise<void> {
    const { settings, warnings } = toCollectorSettings(this.configuration);
    for (const warning of warnings) this.logger.log('warning', warning);
    const book = new CheckpointBook(this.store, this.logger);
    await book.load(signal);
    const serverTime = new ServerTime(this.clock);
    const collectors = settings.streams.map((name) => this.collector(name, settings, book, serverTime));
    // A bug escaping one stream stops its siblings too, so run() is never re-entered while
    // an earlier generation of collectors is still running.
    const local = new AbortController();
    const onStop = (): void => {
      local.abort();
    };
    signal.addEventListener('abort', onStop, { once: true });
    const fatal: unknown[] = [];
    try {
      const results = await Promise.allSettled(
        collectors.map((c) => this.runStream(c, local, fatal, collectors.length)),
      );
      const unexpected = results.find((r) => r.status === 'rejected');
      if (unexpected !== undefined) throw unexpected.reason;
    } finally {
      signal.removeEventListener('abort', onStop);
    }
    if (fatal.length > 0 && fatal.length === collectors.length) throw fatal[0];
  }

  private async runStream(
    collector: StreamCollector,
    local: AbortController,
    fatal: unknown[],
    streams: number,
  ): Promise<void> {
    try {
      await collector.run(local.signal);
    } catch (error) {
      if (!isFatal(error)) {
        local.abort();
        throw error;
      }
      fatal.push(error);
      if (fatal.length < streams) {
        this.logger.log('error', `${collector.name} stopped: ${describeError(error)}`, {
          stream: collector.name,
        });
      }
    }
  }

  /** The SDK's single lag gauge: the stream furthest behind. */
  private furthestLagSeconds(): number {
    let lag = 0;
    for (const totals of this.streamMetrics.totals.values()) lag = Math.max(lag, totals.lagSeconds);
    return lag;
  }

  private collector(
    name: StreamName,
    settings: CollectorSettings,
    book: CheckpointBook,
    serverTime: ServerTime,
  ): StreamCollector {
    const client = new TmesClient({
      baseUrl: settings.baseUrl,
      username: settings.username,
      apiKey: settings.apiKey,
      http: this.tmesHttp,
      clock: this.clock,
      sleep: this.sleep,
      random: this.random,
      logger: this.logger,
      serverTime,
    });
    const encode = settings.outputFormat === 'ecs' ? (r: unknown) => normalize(r, name) : (r: unknown) => r;
    return new StreamCollector(
      {
        stream: STREAMS[name],
        settings,
        pages: (stream, window, size, signal) => asWindowPages(client.pages(stream, window, size, signal)),
        forward: async (events) => {
          await this.pushEvents(events);
          this.metrics.setLag(this.furthestLagSeconds());
        },
        book,
        metrics: this.streamMetrics,
        clock: this.clock,
        planningClock: serverTime,
        sleep: this.sleep,
        random: this.random,
        logger: this.logger,
        encode,
        limits: this.collectorLimits,
      },
      book.get(name),
    );
  }
}

/** Until the client yields WindowPage itself (replaced at merge): its pages, never a restart. */
async function* asWindowPages(pages: AsyncIterable<unknown[]>): AsyncIterable<WindowPage> {
  for await (const logs of pages) yield { logs, restart: false };
}
