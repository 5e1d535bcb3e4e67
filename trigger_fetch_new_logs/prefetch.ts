import type { ReadAhead } from './read-ahead';

/** An item of a prefetched sequence, and whether the consumer had to wait for it. */
export interface Prefetched<T> {
  readonly value: T;
  /** The item was not there yet when asked for: the consumer waits on the source (latency-bound). */
  readonly waited: boolean;
}

/** Every item may be read ahead (no shared bound). */
const UNBOUNDED: ReadAhead = { tryTake: () => () => undefined };

/**
 * Reads `source` one item ahead: as soon as an item arrives, the next one is asked for, so the
 * next page is requested while the consumer forwards the current one. At most one item waits
 * (bounded memory), and only while `readAhead` grants it a slot (a bound shared by every read
 * of the process): without one, the next item is asked for when the consumer asks, as without
 * prefetching. The request for page n+1 goes out as soon as page n arrives, carrying the token
 * page n brought: a token is never held longer than the consumer takes over one page, which is
 * no longer than without prefetching (see WindowRead's token hold).
 *
 * A failure of the item read ahead surfaces when the consumer asks for that item, never as an
 * unhandled rejection; stopping early closes the source once its pending item settles (in the
 * background: the consumer's own error does not wait for a page request). A slot goes back when
 * the consumer takes its item, or once the item settles after an early stop.
 */
export async function* prefetch<T>(
  source: AsyncIterable<T>,
  readAhead: ReadAhead = UNBOUNDED,
): AsyncGenerator<Prefetched<T>, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let settled = false;
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
  /** The slot of the item read ahead (`pending`), held until the consumer takes that item. */
  let slot: (() => void) | undefined;
  let done = false;
  try {
    for (;;) {
      // No slot was free when the last item arrived: ask now.
      pending ??= ask();
      const waited = !settled;
      const result = await pending;
      pending = undefined;
      slot?.();
      slot = undefined;
      if (result.done === true) {
        done = true;
        return;
      }
      slot = readAhead.tryTake();
      if (slot !== undefined) pending = ask();
      yield { value: result.value, waited };
    }
  } finally {
    if (!done) {
      // The consumer stopped early (an error, an abort), or the item it waited for failed: close
      // the source once the page read ahead settles, without making the consumer's error wait.
      const ahead = pending ?? Promise.resolve();
      const release = slot;
      void ahead
        .catch(() => undefined)
        .then(() => {
          release?.();
          return iterator.return?.();
        })
        .catch(() => undefined);
    }
  }
}
