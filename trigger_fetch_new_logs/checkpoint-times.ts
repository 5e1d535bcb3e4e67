/**
 * A stream's checkpoint with its times of type T: epoch ms in memory (StreamCheckpoint), ISO
 * text when stored (StoredStream). Both shapes are converted by one function, so a field added
 * to one cannot be forgotten in the other direction.
 */
export interface TimedStreamState<T> {
  cursor: T;
  window?: { start: T; end: T };
  rereads: { start: T; end: T; pass: number }[];
  setAside: { start: T; end: T; error: string; attempts: number; retryAt: T }[];
}

/** A copy of `state` with every time converted and nothing else (no extra fields carried over). */
export function convertTimes<A, B>(state: TimedStreamState<A>, convert: (time: A) => B): TimedStreamState<B> {
  const range = (r: { start: A; end: A }): { start: B; end: B } => ({
    start: convert(r.start),
    end: convert(r.end),
  });
  return {
    cursor: convert(state.cursor),
    ...(state.window === undefined ? {} : { window: range(state.window) }),
    rereads: state.rereads.map((r) => ({ ...range(r), pass: r.pass })),
    setAside: state.setAside.map((r) => ({
      ...range(r),
      error: r.error,
      attempts: r.attempts,
      retryAt: convert(r.retryAt),
    })),
  };
}
