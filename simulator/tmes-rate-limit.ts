/**
 * A token bucket per tenant on the simulator's clock: `requestsPerSecond` refill per second,
 * as many in a burst. Each log request takes one; an empty bucket answers 429.
 */
import type { RateLimitOptions } from './tmes-options';

export class RequestBucket {
  private tokens: number;
  private at: number | undefined;

  constructor(private readonly limit: RateLimitOptions) {
    this.tokens = limit.requestsPerSecond;
  }

  /** undefined when the request may go; else the Retry-After seconds to send. */
  take(now: number): number | undefined {
    const rate = this.limit.requestsPerSecond;
    if (!Number.isFinite(rate)) return undefined;
    if (this.at !== undefined) this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return this.limit.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - this.tokens) / rate));
  }
}
