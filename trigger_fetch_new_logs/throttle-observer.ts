import type { AdaptiveConcurrency } from './adaptive-concurrency';
import type { AttemptFailure, AttemptTiming, PageAttemptObserver } from './api-stall-watch';
import type { StreamName } from './streams';

/**
 * Passes every page attempt on to `next` (the stall watch) and tells the stream's adaptive
 * concurrency of throttling: a 429 or a 5xx halves how many windows it reads at once, and the
 * answer's Retry-After pauses new windows.
 */
export class ThrottleObserver implements PageAttemptObserver {
  constructor(
    private readonly next: PageAttemptObserver,
    private readonly concurrency: ReadonlyMap<StreamName, AdaptiveConcurrency>,
  ) {}

  succeeded(stream: StreamName): void {
    this.next.succeeded(stream);
  }

  failed(stream: StreamName, failure: AttemptFailure, attempt?: AttemptTiming): void {
    this.next.failed(stream, failure, attempt);
    if (attempt === undefined || failure.kind !== 'status' || !isThrottle(failure.status)) return;
    this.concurrency.get(stream)?.throttled(attempt.sentAt, attempt.retryAfterMs);
  }
}

function isThrottle(status: number): boolean {
  return status === 429 || status >= 500;
}
