import type { ReadAhead } from './read-ahead';

/** An item of a prefetched sequence, and whether the consumer had to wait for it. */
export interface Prefetched<T> {
  readonly value: T;
  /**
   * The item was not there yet when asked for: the consumer waits on the source (latency-bound).
   * Said of the first item and of items read ahead only: an item asked for only when the
   * consumer asked (no slot to read it ahead) is always waited for, whichever side is slower,
   * and counting those would make a busy process look latency-bound (K would grow, and with it
   * the reads and pages held).
   */
  readonly waited: boolean;
}

/** Every item may be read ahead (no shared bound). */
const UNBOUNDED: ReadAhead = { tryTake: () => () => undefined };

/**
 * Reads `source` one item ahead: as soon as an item arrives, the next one is asked for, so the
 * next page is requested while the consumer forwards the current one. At most one item waits
 * (bounded memory). The request for page n+1 goes out as soon as page n arrives, carrying the
 * token page n brought: a token is never held longer than the consumer takes over one page,
 * which is no longer than without prefetching (see WindowRead's token hold).
 *
 * An item read ahead costs memory only if it arrives before the consumer wants it (a parsed
 * page waiting). So: while the last item read ahead was still on its way when the consumer
 * asked for it (the source is the slower one: an API's latency), the next one is read ahead
 * freely, as it will be taken on arrival. Otherwise (the consumer is the slower one, or nothing
 * is known yet) reading ahead takes a slot of `readAhead`, a bound shared by every read of the
 * process, and without a free slot the next item is asked for when the consumer asks, as
 * without prefetching. The slot goes back when the consumer takes that item.
 *
 * A failure of the item read ahead surfaces when the consumer asks for that item, never as an
 * unhandled rejection; stopping early closes the source once its pending item settles (in the
 * background: the consumer's own error does not wait for a page request), and only then gives
 * its slot back.
 */
export async function* prefetch<T>(
  source: AsyncIterable<T>,
  readAhead: ReadAhead = UNBOUNDED,
): AsyncGenerator<Prefetched<T>, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  // Set by the callbacks of `ask` (typed wide: the compiler cannot see those assignments).
  let settled = false as boolean;
  const ask = (): Promise<IteratorResult<T>> => {
    settled = false;
    const next = iterator.next();
    next.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    return next;
  };
  let pending: Promise<IteratorResult<T>> | undefined = ask();
  /** `pending` was asked for ahead of the consumer. */
  let ahead = false;
  /** The slot of the item read ahead, held until the consumer takes that item. */
  let slot: (() => void) | undefined;
  /** The last item read ahead was not there yet when the consumer asked for it. */
  let sourceIsSlower = false;
  let first = true;
  let done = false;
  try {
    for (;;) {
      if (pending === undefined) {
        // Not read ahead (no slot was free): asked for now.
        pending = ask();
        ahead = false;
      }
      const waited = !settled;
      if (ahead) sourceIsSlower = waited;
      // What a wait says of which side is slower (see Prefetched.waited).
      const told = waited && (ahead || first);
      first = false;
      const result = await pending;
      pending = undefined;
      slot?.();
      slot = undefined;
      if (result.done === true) {
        done = true;
        return;
      }
      if (!sourceIsSlower) slot = readAhead.tryTake();
      if (sourceIsSlower || slot !== undefined) {
        pending = ask();
        ahead = true;
      }
      yield { value: result.value, waited: told };
    }
  } finally {
    if (!done) {
      // The consumer stopped early (an error, an abort), or the item it waited for failed: close
      // the source once the page read ahead settles, without making the consumer's error wait.
      const last = pending ?? Promise.resolve();
      const release = slot;
      void last
        .catch(() => undefined)
        .then(() => {
          release?.();
          return iterator.return?.();
        })
        .catch(() => undefined);
    }
  }
}
