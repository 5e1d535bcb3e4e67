import type { Clock } from '@sekoia/automation-sdk-shim';

export interface AdaptiveConcurrencyOptions {
  /** Never more windows in flight than this (the `max_parallel_requests` setting). */
  max: number;
  clock: Clock;
  /**
   * At or above the level a throttle was last seen at, one more window only after this many
   * answered pages in a row: probing a rate limit costs a 429 burst, so it is done rarely.
   */
  probeAfterPages?: number;
  /**
   * How busy the process is lately (0..1, EventLoopLoad.busyShare). A page the reader waited
   * for counts towards growth only while this is under MAX_BUSY_SHARE_TO_GROW: waiting is then
   * a real share of the time. Absent: every wait counts.
   */
  busyShare?: () => number;
}

/**
 * Above this event-loop busy share (the loop waits less than half the time) more windows help
 * little (the process, not the API, sets
 * the pace) and would only hold more pages and batches in memory: K stops growing.
 */
export const MAX_BUSY_SHARE_TO_GROW = 0.5;

/** Probing the last throttled level every 100 pages keeps 429s near 1-2 % of requests. */
export const DEFAULT_PROBE_AFTER_PAGES = 100;

/**
 * How many windows of one stream may be read at once (K). K starts at 1 and grows while pages
 * come back 2xx and the reader was waiting for them (latency-bound: more reads in flight would
 * help); it doubles until the API first pushes back, then grows by one per K pages up to just
 * under the level that was throttled, and probes that level only every `probeAfterPages`
 * pages. A 429 or 5xx halves K (once per burst: answers to requests sent before the last cut
 * are the same event) and pauses new windows for the answer's Retry-After.
 */
export class AdaptiveConcurrency {
  private current = 1;
  /** K when the API last pushed back: growth slows down below it. Infinity before any. */
  private ceiling = Number.POSITIVE_INFINITY;
  private successes = 0;
  private cutAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private readonly probeAfterPages: number;
  /** Pages between probes: doubles each time a probe of the throttled level is throttled again. */
  private probeInterval: number;
  /** K was raised to the last throttled level by a probe, not yet confirmed. */
  private probing = false;

  constructor(private readonly options: AdaptiveConcurrencyOptions) {
    if (!Number.isInteger(options.max) || options.max < 1)
      throw new RangeError(`max_parallel_requests must be a whole number ≥ 1 (got ${options.max})`);
    this.probeAfterPages = options.probeAfterPages ?? DEFAULT_PROBE_AFTER_PAGES;
    this.probeInterval = this.probeAfterPages;
  }

  /** K: how many windows may be in flight now. */
  get limit(): number {
    return this.current;
  }

  get max(): number {
    return this.options.max;
  }

  /** How long to wait before starting another window (a Retry-After still running). */
  waitMs(): number {
    return Math.max(0, this.pausedUntil - this.options.clock.now());
  }

  /** A page was answered 2xx; `latencyBound`: the reader had to wait for it. */
  answered(latencyBound: boolean): void {
    if (!latencyBound || this.current >= this.options.max) return;
    if ((this.options.busyShare?.() ?? 0) >= MAX_BUSY_SHARE_TO_GROW) return;
    this.successes++;
    const below = this.current + 1 < this.ceiling;
    // A round is K pages: double per round before any push-back, else one more per round.
    if (below && this.successes >= this.current) this.grow(this.ceiling === Number.POSITIVE_INFINITY);
    else if (!below && this.successes >= this.probeInterval) {
      if (this.probing) {
        // The probed level held for a whole interval: the limit is higher than we thought.
        this.probing = false;
        this.probeInterval = this.probeAfterPages;
      } else this.probing = this.current + 1 >= this.ceiling;
      this.grow(false);
      // Past the last throttled level without a 429: the limit is higher than we thought.
      this.ceiling = Math.max(this.ceiling, this.current + 1);
    }
  }

  /**
   * The API answered 429 or 5xx to a request sent at `sentAt`. Requests sent before the last
   * cut were already counted in it: a burst of rejections halves K once.
   */
  throttled(sentAt: number, retryAfterMs?: number): void {
    const now = this.options.clock.now();
    if (retryAfterMs !== undefined) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    if (sentAt < this.cutAt) return;
    // A probe of the level throttled last time, throttled again: probe half as often.
    if (this.probing) this.probeInterval = Math.min(this.probeInterval * 2, 16 * this.probeAfterPages);
    this.probing = false;
    this.ceiling = this.current;
    this.current = Math.max(1, Math.floor(this.current / 2));
    this.cutAt = now;
    this.successes = 0;
  }

  private grow(double: boolean): void {
    this.current = Math.min(this.options.max, double ? this.current * 2 : this.current + 1);
    if (this.ceiling !== Number.POSITIVE_INFINITY) this.current = Math.min(this.current, this.ceiling);
    this.successes = 0;
  }
}
