import { STREAM_RETRY, type BackoffPolicy } from '@sekoia/automation-sdk-shim';
import { HORIZON_PLANNING_MARGIN_MS } from './window-planner';
import type { RunWindow } from './window-scheduler';

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

/**
 * The window length that would hold about targetRecordsPerWindow records at the density just
 * read. In a parallel run windows are planned before the previous ones complete: growing by 2x
 * per completion (nextSpan) would keep a dense backlog in one-page windows for generations.
 */
export function densitySpan(window: RunWindow, limits: CollectorLimits): number {
  const width = window.end - window.start;
  const span = window.records === 0 ? width * 2 : (width * limits.targetRecordsPerWindow) / window.records;
  return Math.round(Math.min(limits.maxSpanMs, Math.max(limits.minWindowMs, span)));
}
