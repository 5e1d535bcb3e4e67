import type { Clock, Sleep } from '@sekoia/automation-sdk-shim';
import type { AdaptiveConcurrency } from './adaptive-concurrency';
import type { PageSource } from './collector-context';
import { TokenHoldClock } from './token-hold-clock';
import type { WindowPage } from './window-page';

/**
 * `source` with every page request holding one of the stream's permits (AdaptiveConcurrency
 * acquire): however many windows are open, no more than K requests are in flight, and none
 * starts while a Retry-After runs. One request per `next()`: the client's own retries and
 * restarts happen inside it, under the same permit.
 *
 * The wait for a permit is the API's permission to ask, not our side holding the page token:
 * the source gets a TokenHoldClock stopped during that wait. A read stopped early (its `signal`
 * aborted: the consumer gave up, see StreamCollector.read) gives its permit back at once, even
 * while the request read ahead has not settled yet: the request is abandoned, the others go on.
 */
export function gatedPages(
  source: PageSource,
  concurrency: AdaptiveConcurrency,
  sleep: Sleep,
  clock: Clock,
): PageSource {
  return async function* (stream, window, pageSize, signal) {
    const hold = new TokenHoldClock(clock);
    const pages = source(stream, window, pageSize, signal, hold)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const release = await hold.stoppedDuring(() => concurrency.acquire(sleep, signal));
        // Given up, a request measured nothing: its time to the abort is no round trip.
        const abandon = (): void => {
          release({ measure: false });
        };
        let next: IteratorResult<WindowPage>;
        signal.addEventListener('abort', abandon, { once: true });
        try {
          next = await pages.next();
        } finally {
          signal.removeEventListener('abort', abandon);
          release({ measure: !signal.aborted });
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
