import type { Clock, Logger } from '@sekoia/automation-sdk-shim';
import type { StreamCheckpoint } from './checkpoint';
import type { CollectorLimits } from './collector-limits';
import type { StreamMetrics } from './metrics';
import { scheduleReread } from './reread-schedule';
import type { CollectorSettings } from './settings';
import type { StreamDefinition } from './streams';
import type { TimeWindow } from './tmes-client';
import type { WindowPage } from './window-page';

/**
 * Reads every page of a window. TmesClient.pages, or a stand-in in unit tests. `holdClock`: the
 * clock a page token's hold is measured on (see TokenHoldClock); absent, the source's own.
 */
export type PageSource = (
  stream: StreamDefinition,
  window: TimeWindow,
  pageSize: number,
  signal: AbortSignal,
  holdClock?: Clock,
) => AsyncIterable<WindowPage>;

/** Sends events to the intake; resolves only once every one was acknowledged, else throws. */
export type Forwarder = (events: readonly string[]) => Promise<void>;

/** What a read is for: a new window, a late-log pass, or a set-aside window read again. */
export type ReadKind = 'window' | 'reread' | 'retry';

export interface TimeRange {
  start: number;
  end: number;
}

/**
 * Where a stream stands: what is saved (the checkpoint) and the next window's length. One
 * object, owned by the StreamCollector, that the parts of its work read and move.
 */
export interface StreamProgress {
  checkpoint: StreamCheckpoint;
  spanMs: number;
}

/**
 * What the parts of a stream's collection (narrowing, parallel runs, re-reads, delivery) share
 * with the StreamCollector that owns them: its settings, its progress, and the few steps that
 * only it takes (reading a range, saving the checkpoint, forgetting old identities).
 */
export interface CollectorContext {
  readonly name: StreamDefinition['name'];
  readonly limits: CollectorLimits;
  readonly settings: CollectorSettings;
  readonly logger: Logger;
  readonly metrics: StreamMetrics;
  readonly progress: StreamProgress;
  /** The late-log pass ages (rereadAges of late_window). */
  readonly ages: readonly number[];
  /** "Now" for planning: the TMES server's clock when known. */
  now(): number;
  /** Reads every page of `range` and forwards what it must; resolves with the records listed. */
  read(range: TimeRange, kind: ReadKind, signal: AbortSignal): Promise<number>;
  /** Saves the checkpoint head; until that succeeds, the next step retries it first. */
  commit(): Promise<void>;
  /** Forgets identities no later read can return (and compacts the journal when due). */
  prune(signal?: AbortSignal): Promise<void>;
}

/** `rereads` with `range` scheduled for its late-log pass number `pass`. */
export function withReread(
  context: CollectorContext,
  rereads: StreamCheckpoint['rereads'],
  range: TimeRange,
  pass: number,
): StreamCheckpoint['rereads'] {
  const { limits } = context;
  return scheduleReread(
    rereads,
    range,
    pass,
    context.now(),
    context.ages,
    context.settings.frequencyMs,
    limits.overlapMs + limits.edgeSlackMs,
  );
}

/**
 * Where the cursor may move to once the window is read: its end, unless that lies in the
 * server's future (a host clock running ahead, known only once the server answered): logs
 * generated later with an earlier genTime must still fall in the next window.
 */
export function safeEnd(context: CollectorContext, window: TimeWindow): number {
  return Math.min(window.end, context.now() - context.settings.delayMs);
}

/** A range for a log line. */
export function rangeText(range: TimeRange): string {
  return `${new Date(range.start).toISOString()} – ${new Date(range.end).toISOString()}`;
}
