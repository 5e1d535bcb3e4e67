import type { StreamCheckpoint } from './checkpoint';
import type { TimeWindow } from './tmes-client';

/** The API serves only logs generated within the last 72 hours (its "horizon"). */
export const API_HORIZON_MS = 72 * 3_600_000;

/**
 * Planning margin: a cursor older than `now - horizon + 10 min` is moved up to it. A window
 * planned there must still be readable once read: our clock may be ahead of the API's, and a
 * window takes time to read (pages, retries). Ten minutes covers both with room to spare.
 */
export const HORIZON_PLANNING_MARGIN_MS = 10 * 60_000;

/**
 * Give-up margin: a window or set-aside range already being read is abandoned (and its loss
 * reported) only once its start is within one minute of the horizon. Smaller than the planning
 * margin on purpose: these logs were planned in good time, and every minute given up early is
 * logs lost that the API would still serve; one minute absorbs clock skew between us and it.
 */
export const HORIZON_GIVE_UP_MARGIN_MS = 60_000;

/** The oldest time still worth reading at `now`, `marginMs` inside the API horizon. */
export function horizonAt(now: number, marginMs: number): number {
  return now - API_HORIZON_MS + marginMs;
}

export interface WindowLimits {
  /** How far behind now a window ends (the `timedelta` setting). */
  delayMs: number;
  /** Current maximum window length (adapted to record density by the collector). */
  spanMs: number;
  /** Below this, the stream has caught up and waits for the next poll. */
  minWindowMs: number;
  /** Safety margin inside the horizon (HORIZON_PLANNING_MARGIN_MS; tests may change it). */
  horizonMarginMs: number;
}

export interface PlannedWindow extends TimeWindow {
  /** The window reaches `now - delay`: after it, wait `frequency` before the next one. */
  readonly caughtUp: boolean;
  /** A window saved by an earlier run, resumed as it was. */
  readonly resumed: boolean;
}

export interface Plan {
  readonly window: PlannedWindow | undefined;
  /** The checkpoint to continue from (moved forward when clamped to the horizon). */
  readonly checkpoint: StreamCheckpoint;
  /** Milliseconds of history skipped because they fell out of the API horizon. */
  readonly clampedMs: number;
}

/**
 * Next window of a stream: `[cursor, min(now - delay, cursor + span)]`, or the window an
 * earlier run was reading (its acknowledged records are skipped on re-read). A cursor older
 * than the horizon is moved up to it, and the loss is reported, never silent.
 */
export function planWindow(checkpoint: StreamCheckpoint, now: number, limits: WindowLimits): Plan {
  const horizon = horizonAt(now, limits.horizonMarginMs);
  const from = checkpoint.window?.start ?? checkpoint.cursor;
  if (from < horizon) {
    const saved = checkpoint.window;
    if (saved !== undefined && saved.end > horizon) {
      // Keep what was acknowledged in the part still within reach: no duplicate on re-read.
      const window = { ...saved, start: horizon };
      return {
        window: {
          start: horizon,
          end: saved.end,
          caughtUp: saved.end >= now - limits.delayMs,
          resumed: true,
        },
        checkpoint: { ...checkpoint, cursor: horizon, window },
        clampedMs: horizon - from,
      };
    }
    const { window: _dropped, ...rest } = checkpoint;
    const clamped: StreamCheckpoint = { ...rest, cursor: horizon };
    return { ...planWindow(clamped, now, limits), clampedMs: horizon - from };
  }
  if (checkpoint.window !== undefined) {
    const { start, end } = checkpoint.window;
    return {
      window: { start, end, caughtUp: end >= now - limits.delayMs, resumed: true },
      checkpoint,
      clampedMs: 0,
    };
  }
  const latest = now - limits.delayMs;
  const end = Math.min(latest, checkpoint.cursor + limits.spanMs);
  if (end - checkpoint.cursor < limits.minWindowMs) return { window: undefined, checkpoint, clampedMs: 0 };
  return {
    window: { start: checkpoint.cursor, end, caughtUp: end >= latest, resumed: false },
    checkpoint,
    clampedMs: 0,
  };
}

/**
 * Adapts the window length so a window holds about `target` records: a read keeps a count per
 * identity it lists, and the ledger (with its journal) the identities of what was delivered, so
 * a window's size bounds the memory and the journal a read needs.
 */
export function nextSpan(span: number, records: number, target: number, min: number, max: number): number {
  const ratio = records === 0 ? 2 : Math.min(2, Math.max(0.1, target / records));
  return Math.round(Math.min(max, Math.max(min, span * ratio)));
}
