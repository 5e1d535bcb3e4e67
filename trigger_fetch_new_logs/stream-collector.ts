import {
  backoffDelay,
  describeError,
  isAbort,
  isFatal,
  TransientError,
  type BackoffPolicy,
  type Clock,
  type Logger,
  type Sleep,
} from '@sekoia/automation-sdk-shim';
import type { CheckpointBook, EdgeEntry, StreamCheckpoint } from './checkpoint';
import { serializeWithinLimit } from './event-size';
import type { StreamMetrics } from './metrics';
import { recordKey, recordTime } from './record-identity';
import type { CollectorSettings } from './settings';
import type { StreamDefinition } from './streams';
import type { TimeWindow } from './tmes-client';
import type { WindowPage } from './window-page';
import { API_HORIZON_MS, nextSpan, planWindow, type PlannedWindow } from './window-planner';

/** Reads every page of a window. TmesClient.pages, or a stand-in in unit tests. */
export type PageSource = (
  stream: StreamDefinition,
  window: TimeWindow,
  pageSize: number,
  signal: AbortSignal,
) => AsyncIterable<WindowPage>;

/** Sends events to the intake; resolves only once every one was acknowledged, else throws. */
export type Forwarder = (events: readonly string[]) => Promise<void>;

export interface CollectorLimits {
  /** A batch is forwarded once it holds this many events... */
  batchEvents: number;
  /** ...or this many bytes. */
  batchBytes: number;
  /** The next window starts this much before the previous end (edges re-read, then deduped). */
  overlapMs: number;
  /** Extra margin for an API that truncates bounds to the second. */
  edgeSlackMs: number;
  minWindowMs: number;
  initialSpanMs: number;
  maxSpanMs: number;
  /** Window length adapts to hold about this many records (bounds checkpoint size and memory). */
  targetRecordsPerWindow: number;
  horizonMarginMs: number;
  /** Backoff between failed attempts of a window. */
  errorBackoff: BackoffPolicy;
}

export const DEFAULT_LIMITS: CollectorLimits = {
  batchEvents: 2_000,
  batchBytes: 4 * 1024 * 1024,
  overlapMs: 1_000,
  edgeSlackMs: 1_000,
  minWindowMs: 2_000,
  // Small, then doubling: the first window after a start must not hold a dense backlog's
  // hundreds of thousands of identities (the span is not saved with the checkpoint).
  initialSpanMs: 60_000,
  maxSpanMs: 60 * 60_000,
  targetRecordsPerWindow: 10_000,
  horizonMarginMs: 10 * 60_000,
  errorBackoff: { initialMs: 5_000, maxMs: 5 * 60_000, deadlineMs: Number.POSITIVE_INFINITY },
};

export interface StreamCollectorOptions {
  stream: StreamDefinition;
  settings: CollectorSettings;
  pages: PageSource;
  forward: Forwarder;
  book: CheckpointBook;
  metrics: StreamMetrics;
  clock: Clock;
  /** "Now" for planning windows: the TMES server's clock when known (see ServerTime). */
  planningClock?: Clock;
  sleep: Sleep;
  logger: Logger;
  random?: () => number;
  /** What is forwarded for a record: itself (raw) or its ECS document. */
  encode: (record: unknown) => unknown;
  limits?: Partial<CollectorLimits>;
}

/**
 * One stream, forever: plan a window, read all its pages, drop re-reads, forward in batches,
 * checkpoint after every acknowledged batch, move the cursor when the window is complete.
 * Transient failures are retried here with backoff (the window is read again, acknowledged
 * records skipped); configuration and authentication errors go up to the trigger.
 */
export class StreamCollector {
  private readonly limits: CollectorLimits;
  private checkpoint: StreamCheckpoint;
  private spanMs: number;
  /** The last checkpoint could not be saved (storage down): save it before forwarding more. */
  private unsaved = false;

  constructor(
    private readonly options: StreamCollectorOptions,
    initial: StreamCheckpoint | undefined,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.spanMs = this.limits.initialSpanMs;
    const start = options.clock.now() - options.settings.firstRunLookbackMs;
    this.checkpoint = initial ?? { cursor: start, edge: [] };
  }

  get name(): StreamDefinition['name'] {
    return this.options.stream.name;
  }

  get state(): StreamCheckpoint {
    return this.checkpoint;
  }

  /** Runs until `signal` aborts; throws only fatal (configuration/authentication) errors. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, sleep, logger } = this.options;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const caughtUp = await this.step(signal);
        failures = 0;
        if (caughtUp) await sleep(this.options.settings.frequencyMs, signal);
      } catch (error) {
        if (isAbort(error, signal)) return;
        if (isFatal(error)) throw error;
        const delay = backoffDelay(failures++, this.limits.errorBackoff, this.options.random ?? Math.random);
        logger.log('error', `${describeError(error)} Trying again in ${Math.ceil(delay / 1000)} s.`, {
          stream: this.name,
          failures,
        });
        try {
          await sleep(delay, signal);
        } catch (sleepError) {
          if (isAbort(sleepError, signal)) return;
          throw sleepError;
        }
      }
      this.options.metrics.lag(this.name, Math.max(0, (clock.now() - this.checkpoint.cursor) / 1000));
    }
  }

  /** One window (or nothing when caught up). Returns true when the stream should now wait. */
  async step(signal: AbortSignal): Promise<boolean> {
    const { clock, logger, metrics } = this.options;
    // Forwarding on while saves fail would let a kill repeat everything since the last save;
    // retrying the save first keeps that to the batch in flight.
    if (this.unsaved) await this.commit();
    const plan = planWindow(this.checkpoint, (this.options.planningClock ?? clock).now(), {
      delayMs: this.options.settings.delayMs,
      spanMs: this.spanMs,
      minWindowMs: this.limits.minWindowMs,
      horizonMarginMs: this.limits.horizonMarginMs,
    });
    if (plan.clampedMs > 0) {
      const lost = Math.round(plan.clampedMs / 1000);
      metrics.clamped(this.name, lost);
      logger.log(
        'warning',
        `${this.name}: the cursor was older than the API's 72-hour horizon; ${lost} s of logs (before ${new Date(plan.checkpoint.cursor).toISOString()}) can no longer be collected.`,
        { stream: this.name, clamped_seconds: lost },
      );
      this.checkpoint = plan.checkpoint;
      await this.commit();
    }
    if (plan.window === undefined) return true;
    const records = await this.collectWindow(plan.window, signal);
    this.spanMs = nextSpan(
      plan.window.end - plan.window.start,
      records,
      this.limits.targetRecordsPerWindow,
      this.limits.minWindowMs,
      this.limits.maxSpanMs,
    );
    return plan.window.caughtUp;
  }

  /** Reads the whole window; returns how many records it held. */
  private async collectWindow(window: PlannedWindow, signal: AbortSignal): Promise<number> {
    const { stream, settings, metrics, pages } = this.options;
    const progress = this.checkpoint.window ?? { start: window.start, end: window.end, delivered: [] };
    this.checkpoint = { ...this.checkpoint, window: progress };
    const seen = new Set<string>(progress.delivered);
    for (const [key] of this.checkpoint.edge) seen.add(key);
    const margin = this.limits.overlapMs + this.limits.edgeSlackMs;
    let edgeFrom = window.end - margin;
    const edge = new Map<string, number>(this.checkpoint.edge.filter(([, t]) => t >= edgeFrom));
    const batch = new Batch();
    let records = 0;
    for await (const page of pages(stream, window, settings.pageSize, signal)) {
      const logs = page.logs;
      // The answer told us the server's time: if the window ends in its future, the cursor
      // will stop at the server's present instead, and everything after it is edge.
      edgeFrom = Math.min(edgeFrom, this.safeEnd(window) - margin);
      this.checkHorizon(window);
      metrics.page(this.name);
      metrics.collected(this.name, logs.length);
      records += logs.length;
      let duplicates = 0;
      for (const record of logs) {
        const key = recordKey(this.name, record);
        // No usable time: keep its identity for the next window only (not forever).
        const time = Math.min(recordTime(record), window.end);
        if (time >= edgeFrom) edge.set(key, time);
        if (seen.has(key)) {
          duplicates++;
          continue;
        }
        seen.add(key);
        batch.add(key, this.encode(record));
        if (batch.full(this.limits)) await this.flush(batch);
      }
      if (duplicates > 0) metrics.duplicates(this.name, duplicates);
      this.warnAboutNonRecords(logs);
    }
    await this.flush(batch);
    await this.complete(window, edge);
    return records;
  }

  /** Entries of `logs` that are not objects are still forwarded (nothing is dropped), but said. */
  private warnAboutNonRecords(logs: readonly unknown[]): void {
    const odd = logs.filter((r) => typeof r !== 'object' || r === null || Array.isArray(r));
    if (odd.length === 0) return;
    const kinds = [...new Set(odd.map((r) => (r === null ? 'null' : Array.isArray(r) ? 'array' : typeof r)))];
    this.options.logger.log(
      'warning',
      `${this.name}: the API returned ${odd.length} log entr${odd.length === 1 ? 'y' : 'ies'} that are not JSON objects (${kinds.join(', ')}); forwarded as they are.`,
      { stream: this.name },
    );
  }

  private encode(record: unknown): string {
    const fitted = serializeWithinLimit(this.options.encode(record));
    if (fitted.truncated.length > 0) {
      this.options.metrics.truncated(this.name, 1);
      this.options.logger.log(
        'warning',
        `${this.name}: a record over the intake's 250 kB limit was forwarded with these fields cut: ${fitted.truncated.join(', ')}.`,
        { stream: this.name },
      );
    }
    return fitted.json;
  }

  /** Forwards the batch; once acknowledged, its records join the window's checkpoint. */
  private async flush(batch: Batch): Promise<void> {
    if (batch.size === 0) return;
    const { keys, events } = batch.take();
    await this.options.forward(events);
    this.checkpoint.window?.delivered.push(...keys);
    this.options.metrics.forwarded(this.name, events.length);
    await this.commit();
  }

  /** Every record of the window is acknowledged: move the cursor, keep the edge identities. */
  private async complete(window: TimeWindow, edge: Map<string, number>): Promise<void> {
    const entries: EdgeEntry[] = [...edge];
    this.checkpoint = { cursor: this.safeEnd(window) - this.limits.overlapMs, edge: entries };
    await this.commit();
  }

  /**
   * A window read slowly (retries, a huge page count) near the 72-hour horizon can see its
   * start fall out of the API's reach while it is read. Stop and re-plan: the planner clamps
   * the window and reports what was lost, rather than letting it vanish unnoticed.
   */
  private checkHorizon(window: TimeWindow): void {
    const horizon = (this.options.planningClock ?? this.options.clock).now() - API_HORIZON_MS + 60_000;
    if (window.start >= horizon) return;
    throw new TransientError(
      `${this.name}: the window starting ${new Date(window.start).toISOString()} took so long to read that it reached the API's 72-hour horizon; planning it again.`,
    );
  }

  /**
   * Where the cursor may move to once the window is read: its end, unless that lies in the
   * server's future (a host clock running ahead, known only once the server answered): logs
   * generated later with an earlier genTime must still fall in the next window.
   */
  private safeEnd(window: TimeWindow): number {
    const serverNow = (this.options.planningClock ?? this.options.clock).now();
    return Math.min(window.end, serverNow - this.options.settings.delayMs);
  }

  /** Saves the checkpoint; until that succeeds, step() retries it before anything else. */
  private async commit(): Promise<void> {
    this.unsaved = true;
    await this.options.book.commit(this.name, this.checkpoint);
    this.unsaved = false;
  }
}

/** Events waiting to be forwarded, with the identities they stand for. */
class Batch {
  private keys: string[] = [];
  private events: string[] = [];
  private bytes = 0;

  get size(): number {
    return this.events.length;
  }

  add(key: string, event: string): void {
    this.keys.push(key);
    this.events.push(event);
    this.bytes += event.length;
  }

  full(limits: CollectorLimits): boolean {
    return this.events.length >= limits.batchEvents || this.bytes >= limits.batchBytes;
  }

  take(): { keys: string[]; events: string[] } {
    const taken = { keys: this.keys, events: this.events };
    this.keys = [];
    this.events = [];
    this.bytes = 0;
    return taken;
  }
}
