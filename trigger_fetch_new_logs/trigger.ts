import { setMaxListeners } from 'node:events';
import {
  Connector,
  createHttpClient,
  describeError,
  isFatal,
  type ConfigurationSchema,
  type ConnectorOptions,
  type LivenessOptions,
} from '@sekoia/automation-sdk-shim';
import type { AxiosInstance } from 'axios';
import triggerManifest from '../trigger_fetch_new_logs.json';
import { AdaptiveConcurrency } from './adaptive-concurrency';
import { EventLoopLoad } from './event-loop-load';
import { ApiStallWatch, DEFAULT_STALL_THRESHOLD_MS } from './api-stall-watch';
import { ThrottleObserver } from './throttle-observer';
import { CheckpointBook } from './checkpoint';
import { StreamMetrics } from './metrics';
import { probeServerClock } from './server-clock-probe';
import { ServerTime } from './server-time';
import { normalize } from './normalizer';
import { toCollectorSettings, type CollectorSettings, type FetchNewLogsConfiguration } from './settings';
import { BatchBudget } from './pending-batch';
import { READ_AHEAD_PAGES, ReadAheadSlots } from './read-ahead';
import { DEFAULT_LIMITS, StreamCollector, type CollectorLimits } from './stream-collector';
import { STREAMS, type StreamName } from './streams';
import { TmesClient } from './tmes-client';
import type { TokenPolicy } from './window-read';

export interface FetchNewLogsOptions extends ConnectorOptions {
  /** HTTP client for the Trend Micro API (tests shorten its timeout). */
  tmesHttp?: AxiosInstance;
  collectorLimits?: Partial<CollectorLimits>;
  tokenPolicy?: Partial<TokenPolicy>;
  /** A stream that reads no page for this long logs one critical; default 30 min. */
  apiStallThresholdMs?: number;
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
  private readonly tokenPolicy: Partial<TokenPolicy>;
  private readonly apiStallThresholdMs: number;

  constructor(options: FetchNewLogsOptions) {
    super(options);
    this.streamMetrics = new StreamMetrics(this.metrics.registry);
    this.tmesHttp =
      options.tmesHttp ??
      createHttpClient({ timeoutMs: 120_000, userAgent: 'sekoiaio-trend-micro-email-security' });
    this.collectorLimits = options.collectorLimits ?? {};
    this.tokenPolicy = options.tokenPolicy ?? {};
    this.apiStallThresholdMs = options.apiStallThresholdMs ?? DEFAULT_STALL_THRESHOLD_MS;
  }

  /** Besides the intake, /health fails once a stream has read no page for 30 minutes. */
  protected override livenessThresholds(): Omit<LivenessOptions, 'clock'> {
    return {
      ...super.livenessThresholds(),
      sourceFailureThresholdSeconds: DEFAULT_STALL_THRESHOLD_MS / 1000,
    };
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
    // One measure for all streams: they share the event loop.
    const load = new EventLoopLoad();
    const busyShare = (): number => load.busyShare();
    const concurrency = new Map(
      settings.streams.map((name) => [
        name,
        new AdaptiveConcurrency({ max: settings.maxParallelRequests ?? 1, clock: this.clock, busyShare }),
      ]),
    );
    const client = this.tmesClient(settings, serverTime, concurrency);
    // Before the first window is planned: its cursor must come from the server's clock too.
    const [first] = settings.streams;
    if (first !== undefined) await probeServerClock(client, STREAMS[first], serverTime, this.logger, signal);
    // One batch allowance for the process: the streams' reads in flight share it, so three
    // streams hold about one batch of events (and the intake push's body), not three.
    const batchBudget = new BatchBudget({ ...DEFAULT_LIMITS, ...this.collectorLimits });
    // The same for pages read ahead: a few for the process, not one per read in flight.
    const readAhead = new ReadAheadSlots(READ_AHEAD_PAGES);
    const collectors = settings.streams.map((name) =>
      this.collector(name, settings, book, client, serverTime, concurrency.get(name), {
        batchBudget,
        readAhead,
      }),
    );
    await this.readyAll(collectors, signal);
    // A bug escaping one stream stops its siblings too, so run() is never re-entered while
    // an earlier generation of collectors is still running.
    const local = new AbortController();
    // Every request in flight listens to this signal (the HTTP client adds one listener per
    // request and removes it when the request ends): up to max_parallel_requests, plus a page
    // read ahead, per stream. Node warns past 10 listeners, which here is load, not a leak.
    setMaxListeners(settings.streams.length * ((settings.maxParallelRequests ?? 1) + 2) + 10, local.signal);
    const onStop = (): void => {
      local.abort();
    };
    // A stop that came while the streams were being readied (storage, the clock probe) has
    // already fired its event: a listener added now would never run, and the streams would
    // read on after the trigger returned.
    signal.throwIfAborted();
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

  /**
   * Every stream's ledger journal loaded, and its version-2 identities journaled, before any
   * stream runs: the first head commit (any stream's) writes the whole document, every stream
   * without its version-2 list, so a list not journaled by then would be lost to a kill (see
   * StreamCollector.ready). A stream whose journal cannot be read (a fatal error) stops with it
   * when it runs and the others go on, unless its version-2 list is still to be journaled: then
   * no stream runs. Anything else (storage down) goes up: run() starts again.
   */
  private async readyAll(collectors: readonly StreamCollector[], signal: AbortSignal): Promise<void> {
    const results = await Promise.allSettled(collectors.map((c) => c.ready(signal)));
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      // A stream that could not journal its version-2 identities keeps everyone waiting: the
      // others' first commit would drop its list, and its window would be sent again.
      const unjournaled = (collectors[i]?.state.migrated?.length ?? 0) > 0;
      if (!isFatal(result.reason) || unjournaled) throw result.reason;
    });
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

  /** One client for every stream (a read's state lives in its pages() generator). */
  private tmesClient(
    settings: CollectorSettings,
    serverTime: ServerTime,
    concurrency: ReadonlyMap<StreamName, AdaptiveConcurrency>,
  ): TmesClient {
    const stallWatch = new ApiStallWatch({
      clock: this.clock,
      logger: this.logger,
      host: new URL(settings.baseUrl).host,
      thresholdMs: this.apiStallThresholdMs,
      health: this.liveness,
    });
    const observer = new ThrottleObserver(stallWatch, concurrency);
    return new TmesClient({
      baseUrl: settings.baseUrl,
      username: settings.username,
      apiKey: settings.apiKey,
      http: this.tmesHttp,
      clock: this.clock,
      sleep: this.sleep,
      random: this.random,
      logger: this.logger,
      serverTime,
      tokenPolicy: this.tokenPolicy,
      observer,
    });
  }

  private collector(
    name: StreamName,
    settings: CollectorSettings,
    book: CheckpointBook,
    client: TmesClient,
    serverTime: ServerTime,
    concurrency: AdaptiveConcurrency | undefined,
    shared: { batchBudget: BatchBudget; readAhead: ReadAheadSlots },
  ): StreamCollector {
    // Raw: no encoder, the record's own JSON text is forwarded (serialised once).
    const encode = settings.outputFormat === 'ecs' ? (r: unknown) => normalize(r, name) : undefined;
    return new StreamCollector(
      {
        stream: STREAMS[name],
        settings,
        pages: (stream, window, size, signal, holdClock) =>
          client.pages(stream, window, size, signal, holdClock),
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
        ...shared,
        ...(concurrency === undefined ? {} : { concurrency }),
      },
      book.get(name),
    );
  }
}
