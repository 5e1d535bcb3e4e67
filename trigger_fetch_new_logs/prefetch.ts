/** An item of a prefetched sequence, and whether the consumer had to wait for it. */
export interface Prefetched<T> {
  readonly value: T;
  /** The item was not there yet when asked for: the consumer waits on the source (latency-bound). */
  readonly waited: boolean;
}

/**
 * Reads `source` one item ahead: as soon as an item arrives, the next one is asked for, so the
 * next page is requested while the consumer forwards the current one. At most one item waits
 * (bounded memory). The request for page n+1 goes out as soon as page n arrives, carrying the
 * token page n brought: a token is never held longer than the consumer takes over one page,
 * which is no longer than without prefetching (see WindowRead's token hold).
 *
 * A failure of the item read ahead surfaces when the consumer asks for that item, never as an
 * unhandled rejection; stopping early closes the source once its pending item settles (in the
 * background: the consumer's own error does not wait for a page request).
 */
export async function* prefetch<T>(source: AsyncIterable<T>): AsyncGenerator<Prefetched<T>, void, undefined> {
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
  let pending = ask();
  let done = false;
  try {
    for (;;) {
      const waited = !settled;
      const result = await pending;
      if (result.done === true) {
        done = true;
        return;
      }
      pending = ask();
      yield { value: result.value, waited };
    }
  } finally {
    if (!done) {
      // The consumer stopped early (an error, an abort): close the source once the page read
      // ahead settles, without making the consumer's error wait for it.
      void pending
        .catch(() => undefined)
        .then(() => iterator.return?.())
        .catch(() => undefined);
    }
  }
}
