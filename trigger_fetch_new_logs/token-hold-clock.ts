import type { Clock } from '@sekoia/automation-sdk-shim';

/**
 * The clock a read's page token is held on: `clock`, stopped while the read waits for the API's
 * permission to send its next request (a permit while K requests are in flight, a Retry-After
 * that pauses the whole stream). One per read.
 *
 * Why: the token's hold limit (TokenPolicy.maxTokenHoldMs) is there for a read our side leaves
 * paused while it forwards records. Waiting for permission is not that: a 429 with Retry-After
 * 60 s made every other open window drop its token and start over from page 1 (wasted requests
 * and, sustained, the restart limit and the sequential fallback). Whether a token outlives such
 * a wait is the API's business, unknown: if it expired, the API answers so (refused, or nothing
 * more) and WindowRead restarts the read then.
 */
export class TokenHoldClock implements Clock {
  private stoppedMs = 0;
  private stoppedAt: number | undefined;

  constructor(private readonly clock: Clock) {}

  now(): number {
    const now = this.clock.now();
    return now - this.stoppedMs - (this.stoppedAt === undefined ? 0 : now - this.stoppedAt);
  }

  /** Runs `wait` with this clock stopped (waits do not nest: one read, one wait at a time). */
  async stoppedDuring<T>(wait: () => Promise<T>): Promise<T> {
    this.stoppedAt = this.clock.now();
    try {
      return await wait();
    } finally {
      this.stoppedMs += this.clock.now() - this.stoppedAt;
      this.stoppedAt = undefined;
    }
  }
}
