import { describeError } from '@sekoia/automation-sdk-shim';
import {
  rangeText,
  type CollectorContext,
  type PageSource,
  type ReadKind,
  type TimeRange,
} from './collector-context';
import { setAside } from './set-aside';
import type { StreamDefinition } from './streams';

/** A window (or re-read range) that failed to read, and how many times in a row. */
interface Failing extends TimeRange {
  kind: ReadKind;
  count: number;
}

/**
 * A window failing again and again: halve it, down to the minimum window, so the failing part
 * is isolated and what surrounds it is collected (a bisection). Once a minimal window keeps
 * failing and the API works next to it, set it aside (read again later). An outage fails every
 * request, the probe next to the window included: nothing is set aside then.
 */
export class WindowNarrowing {
  private failing: Failing | undefined;
  /**
   * While a failing window is being bisected: the end of the last window that failed. Each
   * read there costs the client's own retries (minutes), so the search must not waste reads.
   */
  private narrowingUntil: number | undefined;
  /** Set when the API was just seen working next to a range that keeps failing. */
  private isolatedProbed = false;

  constructor(
    private readonly context: CollectorContext,
    private readonly stream: StreamDefinition,
    /** The page source for the probe next to a failing range. */
    private readonly pages: PageSource,
  ) {}

  /**
   * A range keeps failing or a bisection is under way: the next windows are planned one at a
   * time (a parallel run would plan full windows from the cursor and start the search over).
   */
  get inProgress(): boolean {
    return this.failing !== undefined || this.narrowingUntil !== undefined;
  }

  /** The API was just seen working next to the failing range (see probeNeighbour). */
  get probed(): boolean {
    return this.isolatedProbed;
  }

  /** A read succeeded: its failures in a row are over. */
  succeeded(): void {
    this.failing = undefined;
  }

  /** Counts a failed read; true once the same range failed narrowAfterFailures times in a row. */
  noteFailure(kind: ReadKind, range: TimeRange): boolean {
    const f = this.failing;
    if (f?.kind === kind && f.start === range.start && f.end === range.end) f.count++;
    else this.failing = { kind, start: range.start, end: range.end, count: 1 };
    return (this.failing?.count ?? 0) >= this.failuresToAct(kind);
  }

  /**
   * A window read fine. During a bisection that stops before the last failing end, the
   * failing part lies after it: read the next half of what is left (as wide as half this
   * window), rather than letting the span grow back over it. Past that end: bisection over.
   */
  bisected(window: TimeRange): void {
    const until = this.narrowingUntil;
    if (until === undefined) return;
    if (window.end >= until) {
      this.narrowingUntil = undefined;
      return;
    }
    const { limits, progress } = this.context;
    progress.spanMs = Math.max(limits.minWindowMs, Math.floor((window.end - window.start) / 2));
  }

  /** A window read failed in the API: halve it once it failed often enough, or set it aside. */
  async windowFailed(window: TimeRange, error: unknown): Promise<void> {
    if (!this.noteFailure('window', window)) return;
    const { limits, progress } = this.context;
    if (window.end - window.start > limits.minWindowMs) {
      this.halve(window, error);
      return;
    }
    if (!this.isolatedProbed) return;
    this.setAside(window, error);
    const { window: _w, ...rest } = progress.checkpoint;
    progress.checkpoint = { ...rest, cursor: window.end + 1 };
    progress.spanMs = limits.minWindowMs;
    await this.context.commit();
  }

  /** Sets `range` aside: the failing part is isolated, the search is over, the rest is read as usual. */
  setAside(range: TimeRange, error: unknown): void {
    setAside(this.context, range, error);
    this.failing = undefined;
    this.isolatedProbed = false;
    this.narrowingUntil = undefined;
  }

  /** The range failed often enough (and is minimal, for a window) to consider setting it aside. */
  isolated(range: TimeRange, kind: ReadKind): boolean {
    this.isolatedProbed = false;
    const f = this.failing;
    if (f?.kind !== kind || f.start !== range.start || f.end !== range.end) return false;
    if (f.count < this.failuresToAct(kind)) return false;
    return kind !== 'window' || range.end - range.start <= this.context.limits.minWindowMs;
  }

  /**
   * Reads the minimal window just before `range`, forwarding nothing: proof that the API
   * works. If it fails too, that is an outage: the error goes up and nothing is set aside.
   */
  async probeNeighbour(range: TimeRange, signal: AbortSignal): Promise<void> {
    const { settings, limits, metrics, name } = this.context;
    const probe = { start: range.start - limits.minWindowMs, end: range.start - 1 };
    const iterator = this.pages(this.stream, probe, settings.pageSize, signal)[Symbol.asyncIterator]();
    while ((await iterator.next()).done !== true) metrics.rereadPage(name);
    this.isolatedProbed = true;
  }

  private halve(window: TimeRange, error: unknown): void {
    const { limits, progress, logger, name } = this.context;
    const end = window.start + Math.max(limits.minWindowMs, Math.floor((window.end - window.start) / 2));
    logger.log(
      'warning',
      `${name}: the window ${rangeText(window)} failed ${this.failing?.count ?? 0} time(s) in a row (${describeError(error)}); reading it in halves.`,
      { stream: name },
    );
    progress.checkpoint = { ...progress.checkpoint, window: { start: window.start, end } };
    progress.spanMs = end - window.start;
    this.failing = undefined;
    this.narrowingUntil = window.end;
  }

  /**
   * Failures in a row before a window is halved or set aside: narrowAfterFailures, but one
   * once a bisection is under way. The first window already failed that often, and each failed
   * read costs the client's own retries (about 8 minutes for a 500): three per level of a
   * search through an hour-long window stalled the stream for over 9 hours (measured).
   */
  private failuresToAct(kind: ReadKind): number {
    return kind === 'window' && this.narrowingUntil !== undefined
      ? 1
      : this.context.limits.narrowAfterFailures;
  }
}
