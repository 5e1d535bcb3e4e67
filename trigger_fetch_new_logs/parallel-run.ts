import { isAbort, isFatal, type Sleep } from '@sekoia/automation-sdk-shim';
import type { AdaptiveConcurrency } from './adaptive-concurrency';
import { safeEnd, withReread, type CollectorContext } from './collector-context';
import { densitySpan } from './collector-limits';
import { dueReread } from './reread-schedule';
import type { TimeWindow } from './tmes-client';
import { horizonAt, type PlannedWindow } from './window-planner';
import { readInParallel, WindowRun, type RunWindow } from './window-scheduler';

/**
 * A stream's backlog read as consecutive windows side by side (see readInParallel), and when
 * not to: the collector asks `ready` before each window it plans.
 */
export class ParallelRuns {
  /** Longest window of the parallel run in progress (its backlog cut in 2 × max windows at least). */
  private runSpanMs = Number.POSITIVE_INFINITY;
  /** A parallel run failed: windows are read one at a time until one completes. */
  private sequentialUntilSuccess = false;

  constructor(
    private readonly context: CollectorContext,
    private readonly concurrency: AdaptiveConcurrency,
    private readonly sleep: Sleep,
  ) {}

  /** A window read on its own completed: parallel runs may start again. */
  succeeded(): void {
    this.sequentialUntilSuccess = false;
  }

  /**
   * Windows are read side by side while the stream is far behind (a backlog): not for a
   * window an earlier run left half-read (resumed as it was), nor while a window keeps failing
   * or is being bisected (`narrowing`: the sequential path narrows it, and must plan the next
   * half itself), nor when max_parallel_requests is 1.
   */
  ready(window: PlannedWindow, narrowing: boolean): boolean {
    if (this.concurrency.max <= 1 || window.resumed || narrowing || this.sequentialUntilSuccess) return false;
    const { progress, settings, limits } = this.context;
    const behind = this.context.now() - settings.delayMs - progress.checkpoint.cursor;
    return behind > limits.parallelBehindWindows * progress.spanMs;
  }

  /**
   * Reads consecutive windows side by side. The head's `window` covers every window in flight,
   * from the cursor to the furthest end: a kill resumes that range, and the ledger drops what
   * was acknowledged in it.
   */
  async read(signal: AbortSignal): Promise<void> {
    const { progress, limits, settings } = this.context;
    const run = new WindowRun(progress.checkpoint.cursor, limits.overlapMs);
    const behind = this.context.now() - settings.delayMs - progress.checkpoint.cursor;
    this.runSpanMs = Math.max(limits.minWindowMs, Math.ceil(behind / (2 * this.concurrency.max)));
    try {
      await readInParallel({
        run,
        concurrency: this.concurrency,
        sleep: this.sleep,
        signal,
        next: (r) => this.nextWindow(r),
        read: (window) => this.context.read(window, 'window', signal),
        advance: (done) => this.advanceOver(done, run),
      });
    } catch (error) {
      if (isAbort(error, signal) || isFatal(error)) throw error;
      // The next attempt plans from the cursor, one window at a time (and narrows a window
      // that keeps failing); the ledger keeps what was acknowledged beyond the cursor.
      const { window: _w, ...rest } = progress.checkpoint;
      progress.checkpoint = rest;
      this.sequentialUntilSuccess = true;
      await this.context.commit().catch(() => undefined);
      throw error;
    }
  }

  /** The next window of a parallel run, or undefined when the run should stop starting windows. */
  private nextWindow(run: WindowRun): TimeWindow | undefined {
    const { progress, settings, limits } = this.context;
    const now = this.context.now();
    if (progress.checkpoint.setAside.some((r) => r.retryAt <= now)) return undefined;
    if (dueReread(progress.checkpoint.rereads, now, this.context.ages, settings.frequencyMs) !== undefined)
      return undefined;
    const start = run.nextStart;
    if (start < horizonAt(now, limits.horizonMarginMs)) return undefined;
    const left = now - settings.delayMs - start;
    // About one page of records at the density last seen: the run leaves that much (caught up)
    // to a window read on its own, then the stream waits.
    const page = Math.max(
      limits.minWindowMs,
      Math.ceil((progress.spanMs * settings.pageSize) / limits.targetRecordsPerWindow),
    );
    if (left <= page) return undefined;
    // Near the end, each window takes 1/K of what is left: the last ones end at about the
    // same time, instead of K − 1 slots idling while one full window (or the rest, read on its
    // own afterwards) finishes.
    const span = Math.min(
      progress.spanMs,
      this.runSpanMs,
      Math.max(page, Math.ceil(left / this.concurrency.limit)),
    );
    const end = start + span;
    progress.checkpoint = { ...progress.checkpoint, window: { start: progress.checkpoint.cursor, end } };
    return { start, end };
  }

  /** Windows complete from the cursor on: move it over them, schedule their re-reads, save. */
  private async advanceOver(done: readonly RunWindow[], run: WindowRun): Promise<void> {
    const { progress, limits } = this.context;
    let { cursor, rereads } = progress.checkpoint;
    for (const window of done) {
      const end = safeEnd(this.context, window);
      rereads = withReread(this.context, rereads, { start: window.start, end }, 0);
      cursor = end - limits.overlapMs;
      progress.spanMs = densitySpan(window, limits);
    }
    const { window: _w, ...rest } = progress.checkpoint;
    const furthest = run.furthest;
    progress.checkpoint = {
      ...rest,
      cursor,
      rereads,
      ...(furthest === undefined ? {} : { window: { start: cursor, end: furthest } }),
    };
    // The head first: identities are forgotten (and compacted away) only once the cursor that
    // makes them useless is durable, or a kill in between would send them again.
    await this.context.commit();
    await this.context.prune();
  }
}
