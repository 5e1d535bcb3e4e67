import { isAbort, isFatal } from '@sekoia/automation-sdk-shim';
import type { StreamCheckpoint } from './checkpoint';
import { withReread, type CollectorContext, type TimeRange } from './collector-context';
import type { WindowNarrowing } from './window-narrowing';

type RereadRange = StreamCheckpoint['rereads'][number];

/**
 * A pass of the late-log schedule over one (coalesced) range already read, at most maxSpanMs
 * of it: the rest stays pending at the same pass. `readFailed` says whether a failure came
 * from the API (it counts towards setting the range aside) rather than from forwarding.
 */
export async function rereadPass(
  context: CollectorContext,
  narrowing: WindowNarrowing,
  range: RereadRange,
  readFailed: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const { progress, limits } = context;
  const read = { start: range.start, end: Math.min(range.end, range.start + limits.maxSpanMs) };
  if (narrowing.isolated(read, 'reread')) await narrowing.probeNeighbour(read, signal);
  try {
    await context.read(read, 'reread', signal);
  } catch (error) {
    if (readFailed() && !isFatal(error) && !isAbort(error, signal)) {
      if (narrowing.noteFailure('reread', read) && narrowing.probed) {
        // A re-read that keeps failing while the API works: retried later, out of the way.
        removeReread(context, range, read);
        narrowing.setAside(read, error);
        await context.commit();
        return;
      }
    }
    throw error;
  }
  narrowing.succeeded();
  removeReread(context, range, read);
  progress.checkpoint.rereads = withReread(context, progress.checkpoint.rereads, read, range.pass + 1);
  await context.commit();
  await context.prune(signal);
}

/** Takes `read` out of the pending range it was cut from (the rest stays at the same pass). */
function removeReread(context: CollectorContext, range: RereadRange, read: TimeRange): void {
  const { progress } = context;
  const others = progress.checkpoint.rereads.filter((r) => r !== range);
  const rest = read.end < range.end ? [{ ...range, start: read.end }] : [];
  progress.checkpoint = { ...progress.checkpoint, rereads: [...others, ...rest] };
}
