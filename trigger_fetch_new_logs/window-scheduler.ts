import { isAbort, type Sleep } from '@sekoia/automation-sdk-shim';
import type { AdaptiveConcurrency } from './adaptive-concurrency';
import type { TimeWindow } from './tmes-client';

/** A window of a parallel run, with what its read found once done. */
export interface RunWindow extends TimeWindow {
  /** Records its read listed (for the next window length). */
  records: number;
  done: boolean;
}

/**
 * Consecutive windows read side by side. Each starts `overlapMs` before the previous one ends
 * (as sequential windows do). Windows complete in any order; the cursor moves only over the
 * completed ones contiguous from the oldest, so whatever is still being read, or failed, is
 * in front of the cursor and read again after a restart.
 */
export class WindowRun {
  private readonly windows: RunWindow[] = [];
  private lastEnd: number | undefined;

  constructor(
    private readonly from: number,
    private readonly overlapMs: number,
  ) {}

  /** Where the next window starts. */
  get nextStart(): number {
    return this.lastEnd === undefined ? this.from : this.lastEnd - this.overlapMs;
  }

  /** The end of the furthest window not yet passed by the cursor (what the head must cover). */
  get furthest(): number | undefined {
    return this.windows.length === 0 ? undefined : this.lastEnd;
  }

  add(window: TimeWindow): RunWindow {
    const planned: RunWindow = { start: window.start, end: window.end, records: 0, done: false };
    this.windows.push(planned);
    this.lastEnd = window.end;
    return planned;
  }

  /** Marks `window` read; returns the windows now complete from the oldest on, in order (removed). */
  complete(window: RunWindow, records: number): RunWindow[] {
    window.done = true;
    window.records = records;
    let n = 0;
    while (this.windows[n]?.done === true) n++;
    return this.windows.splice(0, n);
  }
}

export interface ParallelReadOptions {
  run: WindowRun;
  concurrency: AdaptiveConcurrency;
  sleep: Sleep;
  signal: AbortSignal;
  /** The next window to start, or undefined when no more should start (caught up, re-reads due). */
  next(run: WindowRun): TimeWindow | undefined;
  /** Reads every page of a window and forwards what it must; resolves with the records listed. */
  read(window: TimeWindow): Promise<number>;
  /** Windows now complete contiguously from the oldest, in order: move the cursor over them. */
  advance(done: readonly RunWindow[]): Promise<void>;
}

/**
 * Reads windows side by side: up to K (the adaptive concurrency's limit) at a time, no new
 * window while a Retry-After runs. On the first failure no new window starts; the others are
 * read to their end (what they forward is journaled), the cursor moves over what completed
 * contiguously, and the failure goes up. Resolves once nothing is in flight and nothing more
 * is to start.
 */
export async function readInParallel(options: ParallelReadOptions): Promise<void> {
  const { run, concurrency, signal } = options;
  const inFlight = new Set<Promise<void>>();
  const finished: { window: RunWindow; records: number }[] = [];
  let failure: { error: unknown } | undefined;
  let exhausted = false;
  for (;;) {
    while (failure === undefined && !exhausted && !signal.aborted && inFlight.size < concurrency.limit) {
      if (concurrency.waitMs() > 0) break;
      const next = options.next(run);
      if (next === undefined) {
        exhausted = true;
        break;
      }
      const window = run.add(next);
      // The handlers run before `reading` settles: when Promise.race below wakes up, the
      // set and the lists already say what finished.
      const reading: Promise<void> = options.read(next).then(
        (records) => {
          inFlight.delete(reading);
          finished.push({ window, records });
          // An empty window (204) hands no page over, yet its answer was waited for: without
          // this, K stays at 1 through a quiet stretch and starts growing only once records come.
          if (records === 0) concurrency.answered(true);
        },
        (error: unknown) => {
          inFlight.delete(reading);
          failure ??= { error };
        },
      );
      inFlight.add(reading);
    }
    if (inFlight.size === 0) {
      if (failure !== undefined || exhausted || signal.aborted) break;
      // Nothing in flight, more to read, a Retry-After running: wait it out.
      await waitOut(options, concurrency.waitMs());
      continue;
    }
    // A window ending, or K growing (more windows may start now, not only when one ends).
    const stopWaiting = new AbortController();
    await Promise.race([...inFlight, concurrency.changed(stopWaiting.signal).catch(() => undefined)]);
    stopWaiting.abort();
    const done = finished.splice(0).flatMap(({ window, records }) => run.complete(window, records));
    if (done.length > 0) await options.advance(done);
  }
  if (failure !== undefined) throw failure.error;
  signal.throwIfAborted();
}

async function waitOut(options: ParallelReadOptions, ms: number): Promise<void> {
  try {
    await options.sleep(ms, options.signal);
  } catch (error) {
    if (!isAbort(error, options.signal)) throw error;
  }
}
