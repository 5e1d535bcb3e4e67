import type { Sleep } from '@sekoia/automation-sdk-shim';
import type { AdaptiveConcurrency } from './adaptive-concurrency';
import type { PageSource } from './collector-context';
import type { WindowPage } from './window-page';

/**
 * `source` with every page request holding one of the stream's permits (AdaptiveConcurrency
 * acquire): however many windows are open, no more than K requests are in flight, and none
 * starts while a Retry-After runs. One request per `next()`: the client's own retries and
 * restarts happen inside it, under the same permit.
 */
export function gatedPages(source: PageSource, concurrency: AdaptiveConcurrency, sleep: Sleep): PageSource {
  return async function* (stream, window, pageSize, signal) {
    const pages = source(stream, window, pageSize, signal)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const release = await concurrency.acquire(sleep, signal);
        let next: IteratorResult<WindowPage>;
        try {
          next = await pages.next();
        } finally {
          release();
        }
        if (next.done === true) {
          done = true;
          return;
        }
        yield next.value;
      }
    } finally {
      if (!done) await pages.return?.();
    }
  };
}
