import {
  STREAM_RETRY,
  describeError,
  isAbort,
  isFatal,
  supervise,
  TransientError,
  type BackoffPolicy,
  type Clock,
  type Logger,
  type Sleep,
} from '@sekoia/automation-sdk-shim';
import { AdaptiveConcurrency } from './adaptive-concurrency';
import type { CheckpointBook, SetAsideRange, StreamCheckpoint } from './checkpoint';
import { fitSerialized, type FittedEvent } from './event-size';
import { IdentityLedger, type LedgerEntry } from './identity-ledger';
import { LedgerJournal } from './ledger-journal';
import type { StreamMetrics } from './metrics';
import { BatchBudget, PendingBatch, type TakenBatch } from './pending-batch';
import { prefetch, type Prefetched } from './prefetch';
import {
  identityOf,
  jsonText,
  recordKey,
  recordTime,
  safeRecordForm,
  serializeRecord,
} from './record-identity';
import { dueReread, rereadAges, scheduleReread } from './reread-schedule';
import { gatedPages } from './request-gate';
import type { CollectorSettings } from './settings';
import type { StreamDefinition } from './streams';
import type { TimeWindow } from './tmes-client';
import type { WindowPage } from './window-page';
import {
  HORIZON_GIVE_UP_MARGIN_MS,
  HORIZON_PLANNING_MARGIN_MS,
  horizonAt,
  nextSpan,
  planWindow,
  type PlannedWindow,
} from './window-planner';
import { readInParallel, WindowRun, type RunWindow } from './window-scheduler';

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
  /** A window failing this many times in a row is halved (down to minWindowMs). */
  narrowAfterFailures: number;
  /** First retry of a set-aside window; doubles per attempt up to setAsideMaxRetryMs. */
  setAsideRetryMs: number;
  setAsideMaxRetryMs: number;
  /** The identity journal is compacted once its segments hold this many entries (or the ledger's size). */
  compactionMinEntries: number;
  /**
   * Windows are read side by side only while the stream is more than this many (adapted)
   * windows behind; a parallel run cuts its backlog into at least 2 × max_parallel_requests
   * windows, so that K of them can be in flight.
   */
  parallelBehindWindows: number;
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
  horizonMarginMs: HORIZON_PLANNING_MARGIN_MS,
  errorBackoff: STREAM_RETRY,
  narrowAfterFailures: 3,
  setAsideRetryMs: 10 * 60_000,
  setAsideMaxRetryMs: 6 * 3_600_000,
  compactionMinEntries: 2_000,
  parallelBehindWindows: 2,
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
  /**
   * What is forwarded for a record: its ECS document, for instance. Absent: the record itself
   * (raw), whose JSON text is then serialised once for both its identity and the event.
   */
  encode?: ((record: unknown) => unknown) | undefined;
  limits?: Partial<CollectorLimits>;
  /**
   * How many windows may be read at once (K, adapted). Absent: one per `max_parallel_requests`
   * (settings), told of nothing but page waits. The trigger passes one the TMES client's
   * observer also tells of 429/5xx answers.
   */
  concurrency?: AdaptiveConcurrency;
  /**
   * The batch allowance this collector's reads share with others: the trigger passes one for
   * all its streams, so that the process holds about one allowance of events, not one per
   * stream. Absent: one of its own, from `limits`.
   */
  batchBudget?: BatchBudget;
}

/** The indexes of the events an intake error says were acknowledged (or discarded for good). */
function acknowledgedIndexes(error: unknown): readonly number[] {
  // DeliveryError gains `acknowledged` on the intake side; until then, nothing was.
  return (error as { acknowledged?: readonly number[] } | null)?.acknowledged ?? [];
}

type ReadKind = 'window' | 'reread' | 'retry';

/** A window (or re-read range) that failed to read, and how many times in a row. */
interface Failing {
  kind: ReadKind;
  start: number;
  end: number;
  count: number;
}

/**
 * One stream, forever: plan a window, read all its pages, drop what was already delivered,
 * forward in batches, journal every acknowledged batch, move the cursor when the window is
 * complete. Periods already read are read again on a schedule (late logs), and a window that
 * keeps failing is narrowed, then set aside, so nothing stalls the stream. Transient failures
 * are retried here with backoff; configuration and authentication errors go up to the trigger.
 */
export class StreamCollector {
  private readonly limits: CollectorLimits;
  /** batchEvents / batchBytes, shared by the reads in flight (of every stream, in the trigger). */
  private readonly batchBudget: BatchBudget;
  private checkpoint: StreamCheckpoint;
  private spanMs: number;
  /** The last checkpoint could not be saved (storage down): save it before forwarding more. */
  private unsaved = false;
  private readonly ledger = new IdentityLedger();
  /**
   * Occurrences queued or being forwarded, not yet acknowledged, by every read in flight in
   * this stream: windows read side by side overlap at their edges, and a record one read has
   * claimed must count for the others, or it would go out twice.
   */
  private readonly claims = new Map<string, number>();
  readonly concurrency: AdaptiveConcurrency;
  /** The page source, each request holding one of the K permits (see gatedPages). */
  private readonly pages: PageSource;
  /** Longest window of the parallel run in progress (its backlog cut in 2 × max windows at least). */
  private runSpanMs = Number.POSITIVE_INFINITY;
  /** A parallel run failed: windows are read one at a time until one completes. */
  private sequentialUntilSuccess = false;
  /** Journal writes and compactions, one at a time (reads side by side deliver concurrently). */
  private journalTurn: Promise<unknown> = Promise.resolve();
  private readonly journal: LedgerJournal;
  private loaded = false;
  private readonly ages: number[];
  private failing: Failing | undefined;
  /** The last read failed in the API (not in forwarding), so it counts towards narrowing. */
  private readFailed = false;
  private warnedLate = false;
  /**
   * While a failing window is being bisected: the end of the last window that failed. Each
   * read there costs the client's own retries (minutes), so the search must not waste reads.
   */
  private narrowingUntil: number | undefined;

  constructor(
    private readonly options: StreamCollectorOptions,
    initial: StreamCheckpoint | undefined,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.batchBudget = options.batchBudget ?? new BatchBudget(this.limits);
    this.spanMs = this.limits.initialSpanMs;
    // The first window is planned on the server's clock: a host clock running ahead would
    // otherwise start the stream in the server's future.
    const start = this.now() - options.settings.firstRunLookbackMs;
    this.checkpoint = initial ?? { cursor: start, rereads: [], setAside: [] };
    this.journal = new LedgerJournal(
      options.book.objects,
      options.stream.name,
      options.logger,
      this.limits.compactionMinEntries,
    );
    this.ages = rereadAges(options.settings.lateWindowMs);
    this.concurrency =
      options.concurrency ??
      new AdaptiveConcurrency({ max: options.settings.maxParallelRequests ?? 1, clock: options.clock });
    this.pages = gatedPages(options.pages, this.concurrency, options.sleep);
  }

  get name(): StreamDefinition['name'] {
    return this.options.stream.name;
  }

  get state(): StreamCheckpoint {
    return this.checkpoint;
  }

  /** How many times `record`'s identity was delivered in the trailing period (tests). */
  deliveredCount(record: unknown): number {
    return this.ledger.count(recordKey(this.name, record));
  }

  /** Runs until `signal` aborts; throws only fatal (configuration/authentication) errors. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, sleep, logger } = this.options;
    const end = await supervise(
      async () => ((await this.step(signal)) ? this.options.settings.frequencyMs : 0),
      {
        signal,
        sleep,
        policy: this.limits.errorBackoff,
        random: this.options.random ?? Math.random,
        classify: (error) => (isAbort(error, signal) ? 'stop' : isFatal(error) ? 'fatal' : 'transient'),
        onTransient: (error, failures, delayMs) => {
          logger.log('error', `${describeError(error)} Trying again in ${Math.ceil(delayMs / 1000)} s.`, {
            stream: this.name,
            failures,
          });
        },
        afterEach: () => {
          this.options.metrics.lag(this.name, Math.max(0, (clock.now() - this.checkpoint.cursor) / 1000));
        },
      },
    );
    if (end.kind === 'fatal') throw end.error;
  }

  /** One window or re-read (or nothing when caught up). Returns true when the stream should now wait. */
  async step(signal: AbortSignal): Promise<boolean> {
    await this.ready(signal);
    // Forwarding on while saves fail would let a kill repeat everything since the last save;
    // retrying the saves first keeps that to the batch in flight.
    await this.serially(() => this.journal.retry(signal));
    if (this.unsaved) await this.commit();
    const now = this.now();
    const retry = this.checkpoint.setAside.find((r) => r.retryAt <= now);
    if (retry !== undefined) {
      await this.retrySetAside(retry, signal);
      return false;
    }
    const reread = dueReread(this.checkpoint.rereads, now, this.ages, this.options.settings.frequencyMs);
    if (reread !== undefined) {
      await this.reread(reread, signal);
      return false;
    }
    return this.primary(signal);
  }

  /** Loads the ledger journal once; journals identities migrated from a version-2 checkpoint. */
  private async ready(signal: AbortSignal): Promise<void> {
    if (this.loaded) return;
    await this.journal.load(this.ledger, signal);
    const migrated = this.checkpoint.migrated;
    if (migrated !== undefined && migrated.length > 0) {
      for (const [key, count, time] of migrated) this.ledger.add(key, count, time);
      await this.serially(() => this.journal.append(migrated, signal));
    }
    this.checkpoint = withoutMigrated(this.checkpoint);
    this.loaded = true;
  }

  private async primary(signal: AbortSignal): Promise<boolean> {
    const { logger, metrics } = this.options;
    const plan = planWindow(this.checkpoint, this.now(), {
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
    if (this.parallelReady(plan.window)) {
      await this.readSideBySide(signal);
      return false;
    }
    const window = plan.window;
    if (this.isolated(window)) await this.probeNeighbour(window, signal);
    this.checkpoint = { ...this.checkpoint, window: { start: window.start, end: window.end } };
    let records: number;
    try {
      records = await this.read(window, 'window', signal);
    } catch (error) {
      if (this.readFailed && !isFatal(error) && !isAbort(error, signal))
        await this.windowFailed(window, error);
      throw error;
    }
    this.failing = undefined;
    this.sequentialUntilSuccess = false;
    await this.complete(window);
    this.spanMs = nextSpan(
      window.end - window.start,
      records,
      this.limits.targetRecordsPerWindow,
      this.limits.minWindowMs,
      this.limits.maxSpanMs,
    );
    this.bisected(window);
    return window.caughtUp;
  }

  /**
   * Windows are read side by side while the stream is far behind (a backlog): not for a
   * window an earlier run left half-read (resumed as it was), nor while a window keeps failing
   * or is being bisected (the sequential path narrows it), nor when max_parallel_requests is 1.
   */
  private parallelReady(window: PlannedWindow): boolean {
    if (this.concurrency.max <= 1 || window.resumed || this.failing !== undefined) return false;
    // A bisection in progress (narrowingUntil) must plan the next half itself: a parallel run
    // would plan full windows from the cursor and start the search over at every success.
    if (this.sequentialUntilSuccess || this.narrowingUntil !== undefined) return false;
    const behind = this.now() - this.options.settings.delayMs - this.checkpoint.cursor;
    return behind > this.limits.parallelBehindWindows * this.spanMs;
  }

  /**
   * Reads consecutive windows side by side (see readInParallel). The head's `window` covers
   * every window in flight, from the cursor to the furthest end: a kill resumes that range,
   * and the ledger drops what was acknowledged in it.
   */
  private async readSideBySide(signal: AbortSignal): Promise<void> {
    const run = new WindowRun(this.checkpoint.cursor, this.limits.overlapMs);
    const behind = this.now() - this.options.settings.delayMs - this.checkpoint.cursor;
    this.runSpanMs = Math.max(this.limits.minWindowMs, Math.ceil(behind / (2 * this.concurrency.max)));
    try {
      await readInParallel({
        run,
        concurrency: this.concurrency,
        sleep: this.options.sleep,
        signal,
        next: (r) => this.nextParallelWindow(r),
        read: (window) => this.read(window, 'window', signal),
        advance: (done) => this.advanceOver(done, run),
      });
    } catch (error) {
      if (isAbort(error, signal) || isFatal(error)) throw error;
      // The next attempt plans from the cursor, one window at a time (and narrows a window
      // that keeps failing); the ledger keeps what was acknowledged beyond the cursor.
      const { window: _w, ...rest } = this.checkpoint;
      this.checkpoint = rest;
      this.sequentialUntilSuccess = true;
      await this.commit().catch(() => undefined);
      throw error;
    }
  }

  /** The next window of a parallel run, or undefined when the run should stop starting windows. */
  private nextParallelWindow(run: WindowRun): TimeWindow | undefined {
    const now = this.now();
    const { settings } = this.options;
    if (this.checkpoint.setAside.some((r) => r.retryAt <= now)) return undefined;
    if (dueReread(this.checkpoint.rereads, now, this.ages, settings.frequencyMs) !== undefined)
      return undefined;
    const start = run.nextStart;
    if (start < horizonAt(now, this.limits.horizonMarginMs)) return undefined;
    const left = now - settings.delayMs - start;
    // About one page of records at the density last seen: the run leaves that much (caught up)
    // to a window read on its own, then the stream waits.
    const page = Math.max(
      this.limits.minWindowMs,
      Math.ceil((this.spanMs * settings.pageSize) / this.limits.targetRecordsPerWindow),
    );
    if (left <= page) return undefined;
    // Near the end, each window takes 1/K of what is left: the last ones end at about the
    // same time, instead of K − 1 slots idling while one full window (or the rest, read on its
    // own afterwards) finishes.
    const span = Math.min(
      this.spanMs,
      this.runSpanMs,
      Math.max(page, Math.ceil(left / this.concurrency.limit)),
    );
    const end = start + span;
    this.checkpoint = { ...this.checkpoint, window: { start: this.checkpoint.cursor, end } };
    return { start, end };
  }

  /** Windows complete from the cursor on: move it over them, schedule their re-reads, save. */
  private async advanceOver(done: readonly RunWindow[], run: WindowRun): Promise<void> {
    let { cursor, rereads } = this.checkpoint;
    for (const window of done) {
      const end = this.safeEnd(window);
      rereads = scheduleReread(
        rereads,
        { start: window.start, end },
        0,
        this.now(),
        this.ages,
        this.options.settings.frequencyMs,
        this.limits.overlapMs + this.limits.edgeSlackMs,
      );
      cursor = end - this.limits.overlapMs;
      this.spanMs = densitySpan(window, this.limits);
    }
    const { window: _w, ...rest } = this.checkpoint;
    const furthest = run.furthest;
    this.checkpoint = {
      ...rest,
      cursor,
      rereads,
      ...(furthest === undefined ? {} : { window: { start: cursor, end: furthest } }),
    };
    // The head first: identities are forgotten (and compacted away) only once the cursor that
    // makes them useless is durable, or a kill in between would send them again.
    await this.commit();
    await this.prune();
  }

  /** A pass of the late-log schedule over one (coalesced) range already read. */
  private async reread(range: StreamCheckpoint['rereads'][number], signal: AbortSignal): Promise<void> {
    const read = { start: range.start, end: Math.min(range.end, range.start + this.limits.maxSpanMs) };
    if (this.isolated({ ...read, kind: 'reread' })) await this.probeNeighbour(read, signal);
    try {
      await this.read(read, 'reread', signal);
    } catch (error) {
      if (this.readFailed && !isFatal(error) && !isAbort(error, signal)) {
        if (this.noteFailure('reread', read) && this.isolatedProbed) {
          // A re-read that keeps failing while the API works: retried later, out of the way.
          this.removeReread(range, read);
          this.setAside(read, error);
          await this.commit();
          return;
        }
      }
      throw error;
    }
    this.failing = undefined;
    this.removeReread(range, read);
    this.checkpoint.rereads = scheduleReread(
      this.checkpoint.rereads,
      read,
      range.pass + 1,
      this.now(),
      this.ages,
      this.options.settings.frequencyMs,
      this.limits.overlapMs + this.limits.edgeSlackMs,
    );
    await this.commit();
    await this.prune(signal);
  }

  /** Takes `read` out of the pending range it was cut from (the rest stays at the same pass). */
  private removeReread(
    range: StreamCheckpoint['rereads'][number],
    read: { start: number; end: number },
  ): void {
    const others = this.checkpoint.rereads.filter((r) => r !== range);
    const rest = read.end < range.end ? [{ ...range, start: read.end }] : [];
    this.checkpoint = { ...this.checkpoint, rereads: [...others, ...rest] };
  }

  /** Reads a set-aside window again; on success it is done, on failure it waits longer. */
  private async retrySetAside(range: SetAsideRange, signal: AbortSignal): Promise<void> {
    const { logger, metrics } = this.options;
    const others = (): SetAsideRange[] => this.checkpoint.setAside.filter((r) => r !== range);
    const horizon = horizonAt(this.now(), HORIZON_GIVE_UP_MARGIN_MS);
    if (range.start < horizon) {
      const lost = Math.round((range.end - range.start) / 1000);
      metrics.clamped(this.name, lost);
      logger.log(
        'error',
        `${this.name}: the set-aside window ${span(range)} could not be read before it left the API's 72-hour horizon; its logs are lost (last error: ${range.error}).`,
        { stream: this.name },
      );
      this.checkpoint = { ...this.checkpoint, setAside: others() };
      await this.commit();
      return;
    }
    try {
      await this.read(range, 'retry', signal);
    } catch (error) {
      if (isFatal(error) || isAbort(error, signal)) throw error;
      const attempts = range.attempts + 1;
      const wait = Math.min(
        this.limits.setAsideMaxRetryMs,
        this.limits.setAsideRetryMs * 2 ** (attempts - 1),
      );
      logger.log(
        'error',
        `${this.name}: the set-aside window ${span(range)} failed again (${describeError(error)}); next attempt in ${Math.round(wait / 60_000)} min.`,
        { stream: this.name, attempts },
      );
      this.checkpoint = {
        ...this.checkpoint,
        setAside: [
          ...others(),
          { ...range, attempts, error: describeError(error), retryAt: this.now() + wait },
        ],
      };
      await this.commit();
      return;
    }
    logger.log(
      'info',
      `${this.name}: the set-aside window ${span(range)} was read; its logs were collected.`,
      {
        stream: this.name,
      },
    );
    this.checkpoint = { ...this.checkpoint, setAside: others() };
    await this.commit();
    await this.prune(signal);
  }

  /**
   * Reads every page of `range`, one page ahead (the next page is requested while this one is
   * forwarded). The n-th occurrence of an identity in this read is forwarded only if more than
   * (delivered + claimed) occurrences exist, claimed meaning queued or being forwarded by any
   * read of this stream: identical records go out as many times as the API lists them, re-reads
   * drop exactly what was delivered, and windows read side by side never both send the records
   * of their common edge.
   */
  private async read(
    range: { start: number; end: number },
    kind: ReadKind,
    signal: AbortSignal,
  ): Promise<number> {
    const { stream, settings, metrics } = this.options;
    const { pages } = this;
    const occurrences = new Map<string, number>();
    const batch = new PendingBatch();
    // This read's share of the stream's batch allowance (smaller while other reads are in flight).
    const share = this.batchBudget.open();
    let records = 0;
    this.readFailed = false;
    let iterator: AsyncIterator<Prefetched<WindowPage>> | undefined;
    try {
      for (;;) {
        let next: IteratorResult<Prefetched<WindowPage>>;
        try {
          iterator ??= prefetch(pages(stream, range, settings.pageSize, signal))[Symbol.asyncIterator]();
          next = await iterator.next();
        } catch (error) {
          this.readFailed = true;
          throw error;
        }
        if (next.done === true) break;
        const { value: page, waited } = next.value;
        this.concurrency.answered(waited);
        // A read restarted from the window's start: what it lists again is counted afresh.
        if (page.restart) occurrences.clear();
        if (kind === 'window') this.checkHorizon(range);
        metrics.page(this.name);
        if (kind !== 'window') metrics.rereadPage(this.name);
        metrics.collected(this.name, page.logs.length);
        records += page.logs.length;
        let duplicates = 0;
        for (const record of page.logs) {
          if (!this.take(record, range, kind, occurrences, batch)) duplicates++;
          if (share.full(batch)) await this.flush(batch);
        }
        if (duplicates > 0) metrics.duplicates(this.name, duplicates);
        this.warnAboutNonRecords(page.logs);
      }
      await this.flush(batch);
    } finally {
      share.close();
      // Claims of a read that stopped (failure, abort) go: another read must forward them.
      this.release(batch.take().keys);
    }
    return records;
  }

  /** Queues `record` unless it was delivered (or claimed) as often as this read listed it. */
  private take(
    record: unknown,
    range: { start: number; end: number },
    kind: ReadKind,
    occurrences: Map<string, number>,
    batch: PendingBatch,
  ): boolean {
    const recordAt = recordTime(record);
    // No usable time: it ages out with the range it was read in.
    const time = Math.min(recordAt, range.end);
    // One serialisation: the identity is hashed from it, and in raw output it is the event.
    let json: string | undefined;
    let key: string;
    let poison: unknown;
    try {
      json = serializeRecord(record);
      key = identityOf(this.name, json);
    } catch (error) {
      poison = error;
      key = recordKey(this.name, safeRecordForm(record));
    }
    const n = (occurrences.get(key) ?? 0) + 1;
    occurrences.set(key, n);
    if (n <= this.ledger.count(key) + (this.claims.get(key) ?? 0)) return false;
    const event = this.encodeSafely(record, json, poison);
    if (event === undefined) return true;
    this.claims.set(key, (this.claims.get(key) ?? 0) + 1);
    // Only the late-log passes measure lateness: a set-aside window read again hours later
    // ('retry') finds records the API listed on time, which are not late logs.
    const lateSeconds =
      kind !== 'reread' ? undefined : Math.max(0, (this.now() - Math.min(recordAt, this.now())) / 1000);
    batch.add(key, time, event, lateSeconds);
    return true;
  }

  /**
   * The event for a record. One the collector cannot process as it is (nested too deep, a
   * normaliser failure) goes out in a safe form (JSON data only, depth-limited, deeper parts
   * replaced by a marker) with an error log and a metric; the rest of the batch goes on.
   */
  private encodeSafely(record: unknown, json: string | undefined, poison: unknown): string | undefined {
    if (poison === undefined) {
      try {
        return this.encode(record, json ?? serialize(record));
      } catch (error) {
        poison = error;
      }
    }
    const { logger, metrics } = this.options;
    metrics.unprocessable(this.name);
    const safe = safeRecordForm(record);
    let excerpt = '';
    try {
      excerpt = JSON.stringify(safe).slice(0, 200);
      // The safe form goes through the same encoding as any record: with output_format 'ecs'
      // the intake expects an ECS document, not the raw TMES JSON. Raw JSON only if that fails.
      const event = this.encodeOrRaw(safe);
      logger.log(
        'error',
        `${this.name}: a record could not be processed as it is (${describeError(poison)}); forwarded in a safe form, parts nested too deep replaced by a marker. Excerpt: ${excerpt}`,
        { stream: this.name },
      );
      return event;
    } catch (error) {
      logger.log(
        'error',
        `${this.name}: a record could not be processed (${describeError(poison)}; ${describeError(error)}); skipped. Excerpt: ${excerpt}`,
        { stream: this.name },
      );
      return undefined;
    }
  }

  private encodeOrRaw(safe: unknown): string {
    try {
      return this.encode(safe, serialize(safe));
    } catch {
      return JSON.stringify(safe);
    }
  }

  /** Entries of `logs` that are not objects are still forwarded (nothing is dropped), but said. */
  private warnAboutNonRecords(logs: readonly unknown[]): void {
    let odd = 0;
    for (const r of logs) if (typeof r !== 'object' || r === null || Array.isArray(r)) odd++;
    if (odd === 0) return;
    const kinds = [
      ...new Set(
        logs
          .filter((r) => typeof r !== 'object' || r === null || Array.isArray(r))
          .map((r) => (r === null ? 'null' : Array.isArray(r) ? 'array' : typeof r)),
      ),
    ];
    this.options.logger.log(
      'warning',
      `${this.name}: the API returned ${odd} log entr${odd === 1 ? 'y' : 'ies'} that are not JSON objects (${kinds.join(', ')}); forwarded as they are.`,
      { stream: this.name },
    );
  }

  /** The event's text: the record's own (raw, already serialised) or its encoded form's. */
  private encode(record: unknown, json: string): string {
    const { encode } = this.options;
    let fitted: FittedEvent;
    if (encode === undefined) fitted = fitSerialized(json, record);
    else {
      const document = encode(record);
      fitted = fitSerialized(serialize(document), document);
    }
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

  /**
   * Forwards the batch; once acknowledged, its identities join the ledger and the journal.
   * When the intake acknowledged part of it before failing, that part is journaled too.
   */
  private async flush(batch: PendingBatch): Promise<void> {
    if (batch.size === 0) return;
    const taken = batch.take();
    try {
      await this.options.forward(taken.events);
    } catch (error) {
      const acknowledged = new Set(acknowledgedIndexes(error));
      const part = taken.select((i) => acknowledged.has(i));
      // What was not acknowledged is claimed no more: a later read forwards it.
      this.release(taken.select((i) => !acknowledged.has(i)).keys);
      if (part.keys.length > 0) await this.delivered(part);
      throw error;
    }
    await this.delivered(taken);
  }

  /**
   * The intake acknowledged these: in the ledger (the claims handed over in the same turn, so
   * delivered + claimed never dips), then journaled. In memory first: even if the journal cannot
   * be written now, this process never sends them again; the write is retried before anything
   * else is forwarded.
   */
  private async delivered(taken: TakenBatch): Promise<void> {
    const counts = new Map<string, { count: number; time: number }>();
    const { keys, times } = taken;
    keys.forEach((key, i) => {
      const entry = counts.get(key);
      if (entry === undefined) counts.set(key, { count: 1, time: times[i] ?? Number.POSITIVE_INFINITY });
      else entry.count++;
    });
    const entries: LedgerEntry[] = [];
    for (const [key, { count, time }] of counts) entries.push([key, count, time]);
    this.options.metrics.forwarded(this.name, keys.length);
    this.reportLate(taken.late);
    // The ledger and the journal change in one turn: a compaction snapshots both or neither.
    await this.serially(async () => {
      for (const [key, count, time] of entries) this.ledger.add(key, count, time);
      this.release(keys);
      await this.journal.append(entries);
    });
    await this.commit();
  }

  /** Drops one claim per key listed. */
  private release(keys: readonly string[]): void {
    for (const key of keys) {
      const left = (this.claims.get(key) ?? 0) - 1;
      if (left > 0) this.claims.set(key, left);
      else this.claims.delete(key);
    }
  }

  private reportLate(seconds: readonly number[]): void {
    const late = seconds.filter((s) => !Number.isNaN(s));
    if (late.length === 0) return;
    for (const s of late) this.options.metrics.late(this.name, s);
    if (this.warnedLate) return;
    this.warnedLate = true;
    const worst = Math.round(Math.max(...late));
    this.options.logger.log(
      'warning',
      `${this.name}: the API listed ${late.length} log(s) late, the latest about ${worst} s after their time; re-reading recent periods collected them. Logs listed more than late_window (${Math.round(this.options.settings.lateWindowMs / 60_000)} min) late would be missed: raise it if this lateness grows.`,
      { stream: this.name, late_seconds: worst },
    );
  }

  /** Every record of the window is acknowledged: move the cursor, schedule its re-reads. */
  private async complete(window: PlannedWindow): Promise<void> {
    const end = this.safeEnd(window);
    const { window: _done, ...rest } = this.checkpoint;
    this.checkpoint = {
      ...rest,
      cursor: end - this.limits.overlapMs,
      rereads: scheduleReread(
        this.checkpoint.rereads,
        { start: window.start, end },
        0,
        this.now(),
        this.ages,
        this.options.settings.frequencyMs,
        this.limits.overlapMs + this.limits.edgeSlackMs,
      ),
    };
    // The head first: identities are forgotten (and compacted away) only once the cursor that
    // makes them useless is durable, or a kill in between would send them again.
    await this.commit();
    await this.prune();
  }

  /**
   * Forgets identities no later read can return: older than every pending re-read, the
   * cursor and the window in progress (minus the slack for APIs that truncate bounds to the
   * second), except those inside set-aside windows.
   */
  private async prune(signal?: AbortSignal): Promise<void> {
    const c = this.checkpoint;
    const oldest = Math.min(c.cursor, c.window?.start ?? Infinity, ...c.rereads.map((r) => r.start));
    const before = oldest - this.limits.edgeSlackMs;
    const margin = this.limits.edgeSlackMs;
    this.ledger.prune(before, (t) => c.setAside.some((r) => t >= r.start - margin && t <= r.end + margin));
    await this.serially(() => this.journal.compactIfDue(this.ledger, signal));
  }

  /** Counts a failed read; true once the same range failed narrowAfterFailures times in a row. */
  private noteFailure(kind: ReadKind, range: { start: number; end: number }): boolean {
    const f = this.failing;
    if (f?.kind === kind && f.start === range.start && f.end === range.end) f.count++;
    else this.failing = { kind, start: range.start, end: range.end, count: 1 };
    return (this.failing?.count ?? 0) >= this.failuresToAct(kind);
  }

  /**
   * Failures in a row before a window is halved or set aside: narrowAfterFailures, but one
   * once a bisection is under way. The first window already failed that often, and each failed
   * read costs the client's own retries (about 8 minutes for a 500): three per level of a
   * search through an hour-long window stalled the stream for over 9 hours (measured).
   */
  private failuresToAct(kind: ReadKind): number {
    return kind === 'window' && this.narrowingUntil !== undefined ? 1 : this.limits.narrowAfterFailures;
  }

  /**
   * A window read fine. During a bisection that stops before the last failing end, the
   * failing part lies after it: read the next half of what is left (as wide as half this
   * window), rather than letting the span grow back over it. Past that end: bisection over.
   */
  private bisected(window: { start: number; end: number }): void {
    const until = this.narrowingUntil;
    if (until === undefined) return;
    if (window.end >= until) {
      this.narrowingUntil = undefined;
      return;
    }
    this.spanMs = Math.max(this.limits.minWindowMs, Math.floor((window.end - window.start) / 2));
  }

  /** Set when the API was just seen working next to a range that keeps failing. */
  private isolatedProbed = false;

  /**
   * A window failing again and again: halve it, down to the minimum window, so the failing
   * part is isolated and what surrounds it is collected. Once a minimal window keeps failing
   * and the API works next to it, set it aside (read again later). An outage fails every
   * request, the probe included: nothing is set aside then.
   */
  private async windowFailed(window: PlannedWindow, error: unknown): Promise<void> {
    if (!this.noteFailure('window', window)) return;
    const failures = this.failing?.count ?? 0;
    const width = window.end - window.start;
    if (width > this.limits.minWindowMs) {
      const end = window.start + Math.max(this.limits.minWindowMs, Math.floor(width / 2));
      this.options.logger.log(
        'warning',
        `${this.name}: the window ${span(window)} failed ${failures} time(s) in a row (${describeError(error)}); reading it in halves.`,
        { stream: this.name },
      );
      this.checkpoint = { ...this.checkpoint, window: { start: window.start, end } };
      this.spanMs = end - window.start;
      this.failing = undefined;
      this.narrowingUntil = window.end;
      return;
    }
    if (!this.isolatedProbed) return;
    this.setAside(window, error);
    const { window: _w, ...rest } = this.checkpoint;
    this.checkpoint = { ...rest, cursor: window.end + 1 };
    this.spanMs = this.limits.minWindowMs;
    await this.commit();
  }

  private setAside(range: { start: number; end: number }, error: unknown): void {
    const { logger, metrics } = this.options;
    metrics.setAside(this.name);
    logger.log(
      'error',
      `${this.name}: the window ${span(range)} keeps failing while the API answers for the time next to it (${describeError(error)}); set aside, it will be read again in ${Math.round(this.limits.setAsideRetryMs / 60_000)} min, the rest goes on.`,
      { stream: this.name },
    );
    this.failing = undefined;
    this.isolatedProbed = false;
    // The failing part is isolated: the search is over, the rest is read as usual.
    this.narrowingUntil = undefined;
    this.checkpoint = {
      ...this.checkpoint,
      setAside: [
        ...this.checkpoint.setAside,
        {
          start: range.start,
          end: range.end,
          error: describeError(error),
          attempts: 1,
          retryAt: this.now() + this.limits.setAsideRetryMs,
        },
      ],
    };
  }

  /** The range failed often enough (and is minimal, for a window) to consider setting it aside. */
  private isolated(range: { start: number; end: number; kind?: ReadKind }): boolean {
    this.isolatedProbed = false;
    const f = this.failing;
    const kind = range.kind ?? 'window';
    if (f?.kind !== kind || f.start !== range.start || f.end !== range.end) return false;
    if (f.count < this.failuresToAct(kind)) return false;
    return kind !== 'window' || range.end - range.start <= this.limits.minWindowMs;
  }

  /**
   * Reads the minimal window just before `range`, forwarding nothing: proof that the API
   * works. If it fails too, that is an outage: the error goes up and nothing is set aside.
   */
  private async probeNeighbour(range: { start: number; end: number }, signal: AbortSignal): Promise<void> {
    const { stream, settings, pages } = this.options;
    const probe = { start: range.start - this.limits.minWindowMs, end: range.start - 1 };
    const iterator = pages(stream, probe, settings.pageSize, signal)[Symbol.asyncIterator]();
    while ((await iterator.next()).done !== true) this.options.metrics.rereadPage(this.name);
    this.isolatedProbed = true;
  }

  /**
   * A window read slowly (retries, a huge page count) near the 72-hour horizon can see its
   * start fall out of the API's reach while it is read. Stop and re-plan: the planner clamps
   * the window and reports what was lost, rather than letting it vanish unnoticed.
   */
  private checkHorizon(window: { start: number }): void {
    const horizon = horizonAt(this.now(), HORIZON_GIVE_UP_MARGIN_MS);
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
    return Math.min(window.end, this.now() - this.options.settings.delayMs);
  }

  /** "Now" for planning: the TMES server's clock when known. */
  private now(): number {
    return (this.options.planningClock ?? this.options.clock).now();
  }

  /**
   * Runs `task` after every journal task queued before it. A compaction snapshots the ledger:
   * identities added to it must be journaled before or inside the snapshot, never after it
   * (loading would count them twice).
   */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const turn = this.journalTurn.then(task, task);
    this.journalTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Saves the checkpoint head; until that succeeds, step() retries it before anything else. */
  private async commit(): Promise<void> {
    this.unsaved = true;
    await this.options.book.commit(this.name, this.checkpoint);
    this.unsaved = false;
  }
}

/**
 * The window length that would hold about targetRecordsPerWindow records at the density just
 * read. In a parallel run windows are planned before the previous ones complete: growing by 2x
 * per completion (nextSpan) would keep a dense backlog in one-page windows for generations.
 */
function densitySpan(window: RunWindow, limits: CollectorLimits): number {
  const width = window.end - window.start;
  const span = window.records === 0 ? width * 2 : (width * limits.targetRecordsPerWindow) / window.records;
  return Math.round(Math.min(limits.maxSpanMs, Math.max(limits.minWindowMs, span)));
}

function withoutMigrated(checkpoint: StreamCheckpoint): StreamCheckpoint {
  const { migrated: _m, ...rest } = checkpoint;
  return rest;
}

function span(range: { start: number; end: number }): string {
  return `${new Date(range.start).toISOString()} – ${new Date(range.end).toISOString()}`;
}

/** JSON text of an encoded record (an ECS document: plain data). */
function serialize(value: unknown): string {
  return jsonText(value) ?? 'null';
}
