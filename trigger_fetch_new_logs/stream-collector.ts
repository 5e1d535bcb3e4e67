import { describeError, isAbort, isFatal, supervise, TransientError } from '@sekoia/automation-sdk-shim';
import { AdaptiveConcurrency } from './adaptive-concurrency';
import { BatchDelivery } from './batch-delivery';
import type { StreamCheckpoint } from './checkpoint';
import {
  safeEnd,
  withReread,
  type CollectorContext,
  type Forwarder,
  type PageSource,
  type ReadKind,
  type StreamProgress,
  type TimeRange,
} from './collector-context';
import { DEFAULT_LIMITS, type CollectorLimits } from './collector-limits';
import type { StreamCollectorOptions } from './collector-options';
import { IdentityLedger } from './identity-ledger';
import { JournalTurns } from './journal-turns';
import { LedgerJournal } from './ledger-journal';
import { ParallelRuns } from './parallel-run';
import { BatchBudget, PendingBatch } from './pending-batch';
import { prefetch, type Prefetched } from './prefetch';
import { RecordClaims } from './record-claims';
import { RecordEncoder } from './record-encoder';
import { recordKey } from './record-identity';
import { RecordTaker } from './record-taker';
import { rereadPass } from './reread-pass';
import { dueReread, rereadAges } from './reread-schedule';
import { gatedPages } from './request-gate';
import { retrySetAside } from './set-aside';
import type { StreamDefinition } from './streams';
import type { WindowPage } from './window-page';
import {
  HORIZON_GIVE_UP_MARGIN_MS,
  horizonAt,
  nextSpan,
  planWindow,
  type PlannedWindow,
} from './window-planner';
import { WindowNarrowing } from './window-narrowing';

// The collector's public types, where the trigger, the benches and the tests import them from.
export { DEFAULT_LIMITS, type CollectorLimits, type Forwarder, type PageSource, type StreamCollectorOptions };

/**
 * One stream, forever: plan a window, read all its pages, drop what was already delivered,
 * forward in batches, journal every acknowledged batch, move the cursor when the window is
 * complete. Periods already read are read again on a schedule (late logs), and a window that
 * keeps failing is narrowed, then set aside, so nothing stalls the stream. Transient failures
 * are retried here with backoff; configuration and authentication errors go up to the trigger.
 *
 * The collector owns the stream's state (progress, ledger, claims, journal) and orchestrates;
 * the parts of the work live next to it: WindowNarrowing and set-aside.ts (failing windows),
 * ParallelRuns (a backlog read side by side), rereadPass (late logs), RecordTaker and
 * RecordEncoder (what a read forwards), BatchDelivery (forwarding and what was acknowledged).
 */
export class StreamCollector {
  private readonly limits: CollectorLimits;
  /** batchEvents / batchBytes, shared by the reads in flight (of every stream, in the trigger). */
  private readonly batchBudget: BatchBudget;
  private readonly progress: StreamProgress;
  /** The last checkpoint could not be saved (storage down): save it before forwarding more. */
  private unsaved = false;
  private readonly ledger = new IdentityLedger();
  private readonly claims = new RecordClaims();
  readonly concurrency: AdaptiveConcurrency;
  /** The page source, each request holding one of the K permits (see gatedPages). */
  private readonly pages: PageSource;
  private readonly turns = new JournalTurns();
  private readonly journal: LedgerJournal;
  private loaded = false;
  /** The last read failed in the API (not in forwarding), so it counts towards narrowing. */
  private readFailed = false;
  private readonly context: CollectorContext;
  private readonly narrowing: WindowNarrowing;
  private readonly parallel: ParallelRuns;
  private readonly taker: RecordTaker;
  private readonly encoder: RecordEncoder;
  private readonly delivery: BatchDelivery;

  constructor(
    private readonly options: StreamCollectorOptions,
    initial: StreamCheckpoint | undefined,
  ) {
    const { stream, settings, logger, metrics } = options;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.batchBudget = options.batchBudget ?? new BatchBudget(this.limits);
    // The first window is planned on the server's clock: a host clock running ahead would
    // otherwise start the stream in the server's future.
    const start = this.now() - settings.firstRunLookbackMs;
    this.progress = {
      checkpoint: initial ?? { cursor: start, rereads: [], setAside: [] },
      spanMs: this.limits.initialSpanMs,
    };
    this.journal = new LedgerJournal(
      options.book.objects,
      stream.name,
      logger,
      this.limits.compactionMinEntries,
    );
    this.concurrency =
      options.concurrency ??
      new AdaptiveConcurrency({ max: settings.maxParallelRequests ?? 1, clock: options.clock });
    this.pages = gatedPages(options.pages, this.concurrency, options.sleep, options.clock);
    this.context = {
      name: stream.name,
      limits: this.limits,
      settings,
      logger,
      metrics,
      progress: this.progress,
      ages: rereadAges(settings.lateWindowMs),
      now: () => this.now(),
      read: (range, kind, signal) => this.read(range, kind, signal),
      commit: () => this.commit(),
      prune: (signal) => this.prune(signal),
    };
    // The probe next to a failing window is a page request like any other: it holds a permit.
    this.narrowing = new WindowNarrowing(this.context, stream, this.pages);
    this.parallel = new ParallelRuns(this.context, this.concurrency, options.sleep);
    this.encoder = new RecordEncoder({ name: stream.name, encode: options.encode, metrics, logger });
    this.taker = new RecordTaker(stream.name, this.ledger, this.claims, this.encoder, () => this.now());
    this.delivery = new BatchDelivery(this.context, options.forward, {
      ledger: this.ledger,
      claims: this.claims,
      journal: this.journal,
      turns: this.turns,
    });
  }

  get name(): StreamDefinition['name'] {
    return this.options.stream.name;
  }

  get state(): StreamCheckpoint {
    return this.progress.checkpoint;
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
          this.options.metrics.lag(
            this.name,
            Math.max(0, (clock.now() - this.progress.checkpoint.cursor) / 1000),
          );
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
    await this.turns.run(() => this.journal.retry(signal));
    if (this.unsaved) await this.commit();
    const now = this.now();
    const { checkpoint } = this.progress;
    const retry = checkpoint.setAside.find((r) => r.retryAt <= now);
    if (retry !== undefined) {
      await retrySetAside(this.context, retry, signal);
      return false;
    }
    const reread = dueReread(checkpoint.rereads, now, this.context.ages, this.options.settings.frequencyMs);
    if (reread !== undefined) {
      await rereadPass(this.context, this.narrowing, reread, () => this.readFailed, signal);
      return false;
    }
    return this.primary(signal);
  }

  /**
   * Loads the ledger journal once and journals the identities migrated from a version-2
   * checkpoint. The trigger calls it for every stream before any stream runs (see
   * FetchNewLogsTrigger.run); step() calls it too (a stream on its own, or after a failure).
   *
   * Migration must count each identity once across kills. The head is one document for all
   * streams, and the first commit of any stream writes every stream without its version-2 list:
   * so every stream's list is journaled before any stream runs (the trigger's order), and the
   * journal keeps it as segment 0, a fixed name. A kill after that segment and before the
   * head's first commit leaves the version-2 head on disk: the next start finds segment 0
   * (loaded with the journal) and does not add the list again. Journaling the lists first and
   * then committing once would not be enough alone: a kill between the two would add them twice.
   * Safe to run again after a failure: the journal loads into a fresh ledger, merged on success.
   */
  async ready(signal: AbortSignal): Promise<void> {
    if (this.loaded) return;
    const loaded = new IdentityLedger();
    await this.journal.load(loaded, signal);
    const migrated = this.progress.checkpoint.migrated;
    if (migrated !== undefined && migrated.length > 0 && !this.journal.migrated) {
      await this.turns.run(() => this.journal.migrate(migrated, signal));
      for (const [key, count, time] of migrated) loaded.add(key, count, time);
    }
    for (const [key, count, time] of loaded.snapshot()) this.ledger.add(key, count, time);
    this.progress.checkpoint = withoutMigrated(this.progress.checkpoint);
    this.loaded = true;
  }

  /** The next window from the cursor: read side by side with the next ones, or on its own. */
  private async primary(signal: AbortSignal): Promise<boolean> {
    const plan = planWindow(this.progress.checkpoint, this.now(), {
      delayMs: this.options.settings.delayMs,
      spanMs: this.progress.spanMs,
      minWindowMs: this.limits.minWindowMs,
      horizonMarginMs: this.limits.horizonMarginMs,
    });
    if (plan.clampedMs > 0) await this.clamped(plan.clampedMs, plan.checkpoint);
    if (plan.window === undefined) return true;
    if (this.parallel.ready(plan.window, this.narrowing.inProgress)) {
      await this.parallel.read(signal);
      return false;
    }
    return this.readAlone(plan.window, signal);
  }

  /** The cursor was older than the API's horizon: the planner moved it; say what was lost, save. */
  private async clamped(clampedMs: number, checkpoint: StreamCheckpoint): Promise<void> {
    const lost = Math.round(clampedMs / 1000);
    this.options.metrics.clamped(this.name, lost);
    this.options.logger.log(
      'warning',
      `${this.name}: the cursor was older than the API's 72-hour horizon; ${lost} s of logs (before ${new Date(checkpoint.cursor).toISOString()}) can no longer be collected.`,
      { stream: this.name, clamped_seconds: lost },
    );
    this.progress.checkpoint = checkpoint;
    await this.commit();
  }

  /** Reads one window on its own; a window that keeps failing is narrowed (see WindowNarrowing). */
  private async readAlone(window: PlannedWindow, signal: AbortSignal): Promise<boolean> {
    const { narrowing, progress } = this;
    if (narrowing.isolated(window, 'window')) await narrowing.probeNeighbour(window, signal);
    progress.checkpoint = { ...progress.checkpoint, window: { start: window.start, end: window.end } };
    let records: number;
    try {
      records = await this.read(window, 'window', signal);
    } catch (error) {
      if (this.readFailed && !isFatal(error) && !isAbort(error, signal))
        await narrowing.windowFailed(window, error);
      throw error;
    }
    narrowing.succeeded();
    this.parallel.succeeded();
    await this.complete(window);
    progress.spanMs = nextSpan(
      window.end - window.start,
      records,
      this.limits.targetRecordsPerWindow,
      this.limits.minWindowMs,
      this.limits.maxSpanMs,
    );
    narrowing.bisected(window);
    return window.caughtUp;
  }

  /**
   * Reads every page of `range`, one page ahead (the next page is requested while this one is
   * forwarded), and forwards what RecordTaker takes, in batches of this read's share of the
   * batch allowance. Resolves with the records listed.
   */
  private async read(range: TimeRange, kind: ReadKind, signal: AbortSignal): Promise<number> {
    const { stream, settings, metrics } = this.options;
    const { pages } = this;
    const occurrences = new Map<string, number>();
    const batch = new PendingBatch();
    // This read's share of the stream's batch allowance (smaller while other reads are in flight).
    const share = this.batchBudget.open();
    let records = 0;
    this.readFailed = false;
    let iterator: AsyncIterator<Prefetched<WindowPage>> | undefined;
    // Aborted once this read is over: a read that stops early (a failed forward, an abort) must
    // not leave the page it requested ahead in flight, holding one of the K permits until it
    // settles (a page under retries can take minutes), while other windows wait for permits.
    const over = linkedAbort(signal);
    try {
      for (;;) {
        let next: IteratorResult<Prefetched<WindowPage>>;
        try {
          iterator ??= prefetch(pages(stream, range, settings.pageSize, over.signal), this.options.readAhead)[
            Symbol.asyncIterator
          ]();
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
        this.encoder.warnAboutNonRecords(page.logs);
        // Each record is let go of once taken (its event text is all that is kept): a parsed page
        // held whole until its last record, across the forwards in between, outlived two young
        // collections and was copied into the old generation (a third of what was promoted).
        const { logs } = page;
        for (let i = 0; i < logs.length; i++) {
          const record = logs[i];
          logs[i] = undefined;
          if (!this.taker.take(record, range, kind, occurrences, batch)) duplicates++;
          if (share.full(batch)) await this.delivery.flush(batch);
        }
        if (duplicates > 0) metrics.duplicates(this.name, duplicates);
      }
      await this.delivery.flush(batch);
    } finally {
      over.end();
      // Closes the pages of a read stopped early: the page it read ahead (aborted just above)
      // gives its read-ahead slot back once settled. A no-op for a read that ran to its end.
      void iterator?.return?.();
      share.close();
      // Claims of a read that stopped (failure, abort) go: another read must forward them.
      this.claims.release(batch.take().keys);
    }
    return records;
  }

  /** Every record of the window is acknowledged: move the cursor, schedule its re-reads. */
  private async complete(window: PlannedWindow): Promise<void> {
    const end = safeEnd(this.context, window);
    const { window: _done, ...rest } = this.progress.checkpoint;
    this.progress.checkpoint = {
      ...rest,
      cursor: end - this.limits.overlapMs,
      rereads: withReread(this.context, this.progress.checkpoint.rereads, { start: window.start, end }, 0),
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
    const c = this.progress.checkpoint;
    const oldest = Math.min(c.cursor, c.window?.start ?? Infinity, ...c.rereads.map((r) => r.start));
    const before = oldest - this.limits.edgeSlackMs;
    const margin = this.limits.edgeSlackMs;
    this.ledger.prune(before, (t) => c.setAside.some((r) => t >= r.start - margin && t <= r.end + margin));
    await this.turns.run(() => this.journal.compactIfDue(this.ledger, signal));
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

  /** "Now" for planning: the TMES server's clock when known. */
  private now(): number {
    return (this.options.planningClock ?? this.options.clock).now();
  }

  /** Saves the checkpoint head; until that succeeds, step() retries it before anything else. */
  private async commit(): Promise<void> {
    this.unsaved = true;
    await this.options.book.commit(this.name, this.progress.checkpoint);
    this.unsaved = false;
  }
}

function withoutMigrated(checkpoint: StreamCheckpoint): StreamCheckpoint {
  const { migrated: _m, ...rest } = checkpoint;
  return rest;
}

/**
 * A signal aborted with `parent`, or by `end()` (which also unlinks it from `parent`). Not
 * AbortSignal.any: Node has leaked the signals it links to a long-lived parent (the run's
 * signal here, one link per read; nodejs/node#54614, #55351).
 */
function linkedAbort(parent: AbortSignal): { signal: AbortSignal; end(): void } {
  const controller = new AbortController();
  const follow = (): void => {
    controller.abort(parent.reason);
  };
  if (parent.aborted) follow();
  else parent.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    end: () => {
      parent.removeEventListener('abort', follow);
      controller.abort();
    },
  };
}
