import { describeError, isAbort, isFatal } from '@sekoia/automation-sdk-shim';
import type { SetAsideRange } from './checkpoint';
import { rangeText, type CollectorContext, type TimeRange } from './collector-context';
import { HORIZON_GIVE_UP_MARGIN_MS, horizonAt } from './window-planner';

/**
 * Adds `range` to the set-aside windows (read again in setAsideRetryMs), said in an error log
 * and a metric: the rest of the stream goes on without it.
 */
export function setAside(context: CollectorContext, range: TimeRange, error: unknown): void {
  const { logger, metrics, limits, progress } = context;
  metrics.setAside(context.name);
  logger.log(
    'error',
    `${context.name}: the window ${rangeText(range)} keeps failing while the API answers for the time next to it (${describeError(error)}); set aside, it will be read again in ${Math.round(limits.setAsideRetryMs / 60_000)} min, the rest goes on.`,
    { stream: context.name },
  );
  progress.checkpoint = {
    ...progress.checkpoint,
    setAside: [
      ...progress.checkpoint.setAside,
      {
        start: range.start,
        end: range.end,
        error: describeError(error),
        attempts: 1,
        retryAt: context.now() + limits.setAsideRetryMs,
      },
    ],
  };
}

/** Reads a set-aside window again; on success it is done, on failure it waits longer. */
export async function retrySetAside(
  context: CollectorContext,
  range: SetAsideRange,
  signal: AbortSignal,
): Promise<void> {
  const { progress } = context;
  if (range.start < horizonAt(context.now(), HORIZON_GIVE_UP_MARGIN_MS)) {
    giveUp(context, range);
    await context.commit();
    return;
  }
  try {
    await context.read(range, 'retry', signal);
  } catch (error) {
    if (isFatal(error) || isAbort(error, signal)) throw error;
    postpone(context, range, error);
    await context.commit();
    return;
  }
  context.logger.log(
    'info',
    `${context.name}: the set-aside window ${rangeText(range)} was read; its logs were collected.`,
    {
      stream: context.name,
    },
  );
  progress.checkpoint = { ...progress.checkpoint, setAside: without(context, range) };
  await context.commit();
  await context.prune(signal);
}

/** The window left the API's reach before it could be read: its logs are lost, and said so. */
function giveUp(context: CollectorContext, range: SetAsideRange): void {
  const lost = Math.round((range.end - range.start) / 1000);
  context.metrics.clamped(context.name, lost);
  context.logger.log(
    'error',
    `${context.name}: the set-aside window ${rangeText(range)} could not be read before it left the API's 72-hour horizon; its logs are lost (last error: ${range.error}).`,
    { stream: context.name },
  );
  context.progress.checkpoint = { ...context.progress.checkpoint, setAside: without(context, range) };
}

/** Failed again: the next attempt waits twice as long (up to setAsideMaxRetryMs). */
function postpone(context: CollectorContext, range: SetAsideRange, error: unknown): void {
  const { limits, progress } = context;
  const attempts = range.attempts + 1;
  const wait = Math.min(limits.setAsideMaxRetryMs, limits.setAsideRetryMs * 2 ** (attempts - 1));
  context.logger.log(
    'error',
    `${context.name}: the set-aside window ${rangeText(range)} failed again (${describeError(error)}); next attempt in ${Math.round(wait / 60_000)} min.`,
    { stream: context.name, attempts },
  );
  progress.checkpoint = {
    ...progress.checkpoint,
    setAside: [
      ...without(context, range),
      { ...range, attempts, error: describeError(error), retryAt: context.now() + wait },
    ],
  };
}

function without(context: CollectorContext, range: SetAsideRange): SetAsideRange[] {
  return context.progress.checkpoint.setAside.filter((r) => r !== range);
}
