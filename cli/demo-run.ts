import { EventEmitter } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Module,
  StdoutLogger,
  realSleep,
  silentLogger,
  systemClock,
  type Clock,
} from '@sekoia/automation-sdk-shim';
import { IntakeStandIn, MemoryCheckpointStore } from '@sekoia/automation-sdk-shim/testing';
import type { TmesSimulator } from '../simulator';
import { readCheckpoint } from '../trigger_fetch_new_logs/checkpoint';
import type { StreamMetrics } from '../trigger_fetch_new_logs/metrics';
import { STREAM_NAMES, type StreamName } from '../trigger_fetch_new_logs/streams';
import { FetchNewLogsTrigger } from '../trigger_fetch_new_logs/trigger';
import type { CliIo } from './command';
import { CriticalWatch } from './critical-watch';
import { DemoOutput, streamFiles } from './demo-output';
import {
  DEMO_API_KEY,
  DEMO_INTAKE_KEY,
  DEMO_USERNAME,
  planDataset,
  startDemoTenant,
  type DemoDataset,
} from './demo-tenant';
import { verifyOutput } from './demo-verify';
import { EXIT, type ExitCode } from './exit-codes';
import { count, duration } from './format';
import { InMemorySettings } from './in-memory-settings';
import { moduleRoot } from './module-root';
import { progressView, type ProgressSnapshot } from './progress';
import { isVerified, renderSummary, totalsReport, type DemoReport, type StreamReport } from './summary';

export interface DemoOptions {
  records: number;
  liveSeconds: number;
  latencyMs: number;
  faults: boolean;
  outDir: string;
}

/** Poll interval of the trigger in the demo: short, so live records show up within seconds. */
const FREQUENCY_S = 2;
/** The backlog must be caught up by then, or the demo stops anyway (it must end on its own). */
const CATCH_UP_LIMIT_MS = 60_000;
/**
 * A stream whose checkpoint is this close to now has caught up: with timedelta 0 it trails
 * by the poll interval, the window overlap and one window at most (a few seconds).
 */
const CAUGHT_UP_LAG_MS = 10_000;
/** How often the view is refreshed and the stop conditions are looked at. */
const TICK_MS = 250;

/**
 * The demo: a realistic simulated tenant, the real FetchNewLogsTrigger on the real clock, and
 * a local intake writing ./out. Ends by itself once the backlog is caught up and the live
 * period is over (or on Ctrl-C), then checks the output against the simulator and reports.
 */
export class DemoRun {
  private readonly clock: Clock = systemClock;
  private interrupted = false;
  private trigger: FetchNewLogsTrigger | undefined;

  constructor(
    private readonly options: DemoOptions,
    private readonly io: CliIo,
  ) {}

  async run(): Promise<ExitCode> {
    const { options, io } = this;
    const startedAt = this.clock.now();
    const liveMs = options.liveSeconds * 1_000;
    const dataset = planDataset(options.records, startedAt, startedAt + CATCH_UP_LIMIT_MS + liveMs + 30_000);
    const output = new DemoOutput(options.outDir);
    try {
      await output.open();
    } catch (error) {
      io.stderr.write(`demo: ${unusableOutDir(options.outDir, error)}\n`);
      return EXIT.usage;
    }
    const logFile = join(options.outDir, 'trigger.log');
    const log = createWriteStream(logFile);
    const simulator = await startDemoTenant(dataset, options);
    const intake = new IntakeStandIn({ intakeKey: DEMO_INTAKE_KEY });
    intake.onEvents = (events) => output.write(events);
    const onSignal = (): void => {
      // A second Ctrl-C gives up waiting for in-flight deliveries.
      if (this.interrupted) this.trigger?.stop();
      this.interrupted = true;
    };
    io.signals.on('SIGINT', onSignal);
    io.signals.on('SIGTERM', onSignal);
    try {
      const intakeUrl = await intake.start();
      io.stdout.write(intro(options, dataset, simulator.url, intakeUrl));
      const outcome = await this.collect(simulator.url, intakeUrl, log, startedAt, liveMs);
      await output.close();
      const report = await this.report(outcome, simulator, dataset, startedAt, logFile);
      await writeFile(join(options.outDir, 'summary.json'), JSON.stringify(report, null, 2) + '\n');
      io.stdout.write(renderSummary(report, io.cwd));
      return report.verified && outcome.critical === undefined ? EXIT.ok : EXIT.failed;
    } finally {
      io.signals.off('SIGINT', onSignal);
      io.signals.off('SIGTERM', onSignal);
      await output.close();
      await intake.stop();
      await simulator.stop();
      await new Promise<void>((resolve) => log.end(resolve));
    }
  }

  private async collect(
    serviceUrl: string,
    intakeUrl: string,
    log: WriteStream,
    startedAt: number,
    liveMs: number,
  ): Promise<Outcome> {
    const store = new MemoryCheckpointStore();
    const logger = new CriticalWatch(new StdoutLogger({ write: (line) => log.write(line) }), () => undefined);
    const configuration = {
      service_url: serviceUrl,
      username: DEMO_USERNAME,
      api_key: DEMO_API_KEY,
      intake_key: DEMO_INTAKE_KEY,
      intake_server: intakeUrl,
      frequency: FREQUENCY_S,
      timedelta: 0,
      start_time: 3,
    };
    const module = new Module({
      cwd: moduleRoot(),
      loader: new InMemorySettings({ trigger_configuration: configuration }, this.options.outDir),
      logger,
    });
    const signals = new EventEmitter();
    const trigger = new FetchNewLogsTrigger({
      module,
      logger,
      store,
      signals,
      healthPort: false,
      metricsPort: false,
    });
    this.trigger = trigger;
    const view = progressView(this.io.stdout);
    const triggerStartedAt = this.clock.now();
    let finished = false;
    const running = trigger.execute().finally(() => {
      finished = true;
    });
    let caughtUpAt: number | undefined;
    let forwardedWhenCaughtUp = 0;
    let stoppedBecause: string | undefined;
    while (stoppedBecause === undefined) {
      await Promise.race([realSleep(TICK_MS), running]);
      const now = this.clock.now();
      const snapshot = this.snapshot(trigger, store, now, startedAt, caughtUpAt, liveMs);
      if (
        caughtUpAt === undefined &&
        snapshot.streams.every((s) => s.lagMs !== undefined && s.lagMs <= CAUGHT_UP_LAG_MS)
      ) {
        caughtUpAt = now;
        forwardedWhenCaughtUp = snapshot.streams.reduce((n, s) => n + s.forwarded, 0);
      }
      stoppedBecause = this.stopReason(logger, finished, now, triggerStartedAt, caughtUpAt, liveMs);
      if (stoppedBecause === undefined) view.update(snapshot);
    }
    trigger.stop();
    await running;
    const last = this.snapshot(trigger, store, this.clock.now(), startedAt, caughtUpAt, liveMs);
    view.finish({ phase: 'stopped', elapsedMs: last.elapsedMs, streams: last.streams });
    return {
      stoppedBecause,
      critical: logger.critical,
      cursors: cursorsOf(store),
      metrics: trigger.streamMetrics,
      caughtUpAfterMs: caughtUpAt === undefined ? null : caughtUpAt - triggerStartedAt,
      forwardedWhenCaughtUp,
    };
  }

  private stopReason(
    logger: CriticalWatch,
    finished: boolean,
    now: number,
    triggerStartedAt: number,
    caughtUpAt: number | undefined,
    liveMs: number,
  ): string | undefined {
    if (logger.critical !== undefined) return `stopped on a fatal error (${logger.critical})`;
    if (this.interrupted) return 'interrupted (Ctrl-C)';
    if (finished) return 'the trigger ended on its own';
    if (caughtUpAt !== undefined && now - caughtUpAt >= liveMs) {
      return `caught up, then ${duration(liveMs)} of live traffic`;
    }
    if (caughtUpAt === undefined && now - triggerStartedAt >= CATCH_UP_LIMIT_MS) {
      return `the backlog was not caught up after ${duration(CATCH_UP_LIMIT_MS)}`;
    }
    return undefined;
  }

  private snapshot(
    trigger: FetchNewLogsTrigger,
    store: MemoryCheckpointStore,
    now: number,
    startedAt: number,
    caughtUpAt: number | undefined,
    liveMs: number,
  ): ProgressSnapshot {
    const cursors = cursorsOf(store);
    return {
      phase: caughtUpAt === undefined ? 'catching up' : 'live',
      elapsedMs: now - startedAt,
      ...(caughtUpAt === undefined ? {} : { liveLeftMs: Math.max(0, caughtUpAt + liveMs - now) }),
      streams: STREAM_NAMES.map((stream) => {
        const totals = trigger.streamMetrics.totals.get(stream);
        const cursor = cursors[stream];
        return {
          stream,
          collected: totals?.collected ?? 0,
          forwarded: totals?.forwarded ?? 0,
          pages: totals?.pages ?? 0,
          lagMs: cursor === undefined ? undefined : Math.max(0, now - cursor),
        };
      }),
    };
  }

  private async report(
    outcome: Outcome,
    simulator: TmesSimulator,
    dataset: DemoDataset,
    startedAt: number,
    logFile: string,
  ): Promise<DemoReport> {
    const { outDir } = this.options;
    const checks = await verifyOutput(outDir, simulator, outcome.cursors, STREAM_NAMES);
    const streams = {} as Record<StreamName, StreamReport>;
    const files = {} as DemoReport['files'];
    for (const stream of STREAM_NAMES) {
      const cursor = outcome.cursors[stream];
      streams[stream] = {
        ...totalsReport(outcome.metrics.totals.get(stream)),
        cursor: cursor === undefined ? null : new Date(cursor).toISOString(),
        output: checks[stream],
      };
      files[stream] = streamFiles(outDir, stream);
    }
    return {
      startedAt: new Date(startedAt).toISOString(),
      durationMs: this.clock.now() - startedAt,
      caughtUpAfterMs: outcome.caughtUpAfterMs,
      forwardedWhenCaughtUp: outcome.forwardedWhenCaughtUp,
      stoppedBecause: outcome.stoppedBecause,
      options: {
        records: this.options.records,
        liveSeconds: this.options.liveSeconds,
        latencyMs: this.options.latencyMs,
        faults: this.options.faults,
      },
      dataset,
      api: {
        requests: simulator.stats.requests,
        statuses: { ...simulator.stats.statuses },
        dropped: simulator.stats.dropped,
      },
      streams,
      outDir,
      files,
      logFile,
      verified: isVerified(streams),
    };
  }
}

interface Outcome {
  stoppedBecause: string;
  critical: string | undefined;
  cursors: Partial<Record<StreamName, number>>;
  metrics: StreamMetrics;
  caughtUpAfterMs: number | null;
  forwardedWhenCaughtUp: number;
}

/**
 * Each stream's cursor in the trigger's checkpoint (everything before it was acknowledged), read
 * as the trigger reads it on restart.
 */
function cursorsOf(store: MemoryCheckpointStore): Partial<Record<StreamName, number>> {
  const cursors: Partial<Record<StreamName, number>> = {};
  for (const [stream, checkpoint] of readCheckpoint(store.document, store.describe(), silentLogger))
    cursors[stream] = checkpoint.cursor;
  return cursors;
}

function intro(options: DemoOptions, dataset: DemoDataset, serviceUrl: string, intakeUrl: string): string {
  const live = Object.values(dataset.live.counts).reduce((n, c) => n + c, 0);
  const perSecond = live / Math.max(1, (dataset.live.end - dataset.live.start) / 1000);
  return [
    `Demo: the Fetch new logs trigger against a simulated Trend Micro Email Security tenant.`,
    `  Tenant: ${serviceUrl} with ${count(options.records)} logs over the last 2 hours, then about ${perSecond.toFixed(0)} new log(s)/s` +
      `${options.latencyMs > 0 ? `, ${options.latencyMs} ms per API request` : ''}${options.faults ? ', with 429/500/dropped-connection faults' : ''}.`,
    `  Intake: ${intakeUrl}, writing every event it acknowledges to ${options.outDir}.`,
    `  It stops once caught up and after ${options.liveSeconds} s of live traffic. Ctrl-C stops it earlier.`,
    '',
  ].join('\n');
}

/** Why --out cannot be written, and what to do: the path and the system's reason, no stack. */
function unusableOutDir(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code === 'EEXIST' || code === 'ENOTDIR'
      ? 'it, or a folder on its path, is a file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : error instanceof Error
          ? error.message
          : String(error);
  return `--out ${dir} cannot be used as the output folder (${reason}). Give --out a folder that can be created or written.`;
}
