import type { Clock, Sleep } from '@sekoia/automation-sdk-shim';

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

/** Pages answered over this span give the accepted rate a throttle is compared with. */
export const ACCEPTED_RATE_SPAN_MS = 2_000;

/** A rate counted over less than this (since K last changed) says too little. */
export const MIN_RATE_SPAN_MS = 500;

/** Probing the last throttled level every 100 pages keeps 429s near 1-2 % of requests. */
export const DEFAULT_PROBE_AFTER_PAGES = 100;

/** Gives a permit back (once; later calls do nothing). `measure: false`: the request did not complete. */
export type ReleasePermit = (options?: { measure?: boolean }) => void;

/**
 * How many windows of one stream may be read at once (K). K starts at 1 and grows while pages
 * come back 2xx and the reader was waiting for them (latency-bound: more reads in flight would
 * help); it doubles until the API first pushes back, then grows by one per K pages up to just
 * under the level that was throttled, and probes that level only every `probeAfterPages`
 * pages. A 429 or 5xx halves K (once per burst: answers to requests sent before the last cut
 * are the same event), or cuts it further to the level the accepted rate sustains (a rate
 * limit well below K), and pauses every page request of the stream for the answer's
 * Retry-After. K bounds both the windows open and the page requests in flight (acquire): after
 * a cut, the windows already open slow down as well.
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
  /** Page requests of this stream in flight (see acquire). */
  private requests = 0;
  /** Woken when a request ends or K grows: a permit or a window slot may be free. */
  private readonly waiters = new Set<() => void>();
  /** When pages were answered over the last ACCEPTED_RATE_SPAN_MS (the accepted rate). */
  private readonly answeredAt: number[] = [];
  /** A page request's round trip (permit held, no throttle meanwhile), smoothed; ms. */
  private roundTripMs: number | undefined;
  /** When K last changed (the accepted rate is counted since then). */
  private changedAt = Number.NEGATIVE_INFINITY;
  /** Throttles seen so far: a request that overlapped one does not measure the round trip. */
  private throttles = 0;

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

  /** The page requests' round trip as measured so far, smoothed, ms (undefined: none yet). */
  get roundTrip(): number | undefined {
    return this.roundTripMs;
  }

  /** Page requests in flight now (holding a permit). */
  get inFlight(): number {
    return this.requests;
  }

  /**
   * A permit for one page request; call the function returned once its answer is in. At most K
   * requests of the stream are in flight, and none starts while a Retry-After runs: after a cut,
   * the windows already open slow down too (each has a request in flight otherwise, and kept
   * sending at the old rate until it ended), and one 429 pauses every window, not only new ones.
   * A request given up (aborted) is released with `{ measure: false }`: its truncated time is
   * no round trip, and counted as one it would bias K's estimate down.
   */
  async acquire(sleep: Sleep, signal: AbortSignal): Promise<ReleasePermit> {
    for (;;) {
      signal.throwIfAborted();
      const wait = this.waitMs();
      if (wait > 0) await sleep(wait, signal);
      else if (this.requests < this.current) break;
      else await this.changed(signal);
    }
    this.requests++;
    const { clock } = this.options;
    const sentAt = clock.now();
    const throttles = this.throttles;
    let released = false;
    return (options) => {
      if (released) return;
      released = true;
      this.requests--;
      if (options?.measure !== false && throttles === this.throttles)
        this.measureRoundTrip(clock.now() - sentAt);
      this.wake();
    };
  }

  /**
   * Resolves the next time a request ends or K grows (a permit or a window slot may be free);
   * rejects with the abort reason if `signal` aborts first.
   */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(done);
        reject(abortReason(signal));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted === true) {
        reject(abortReason(signal));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(done);
    });
  }

  /** A page was answered 2xx; `latencyBound`: the reader had to wait for it. */
  answered(latencyBound: boolean): void {
    this.noteAnswer();
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
    this.throttles++;
    if (sentAt < this.cutAt) return;
    // A probe of the level throttled last time, throttled again: probe half as often.
    if (this.probing) this.probeInterval = Math.min(this.probeInterval * 2, 16 * this.probeAfterPages);
    this.probing = false;
    const halved = Math.max(1, Math.floor(this.current / 2));
    // A rate limit: the API accepted fewer requests than K sends. K goes no higher than what it
    // accepted, and only the next level up is probed (rarely): halving alone, from a K far above
    // the limit, leaves K above it, and growing back towards the old K costs more bursts of 429s.
    const accepted = this.acceptedLevel(now);
    this.ceiling = accepted === undefined ? this.current : Math.min(this.current, accepted + 1);
    this.current = Math.min(halved, accepted ?? halved);
    this.changedAt = now;
    this.cutAt = now;
    this.successes = 0;
  }

  /**
   * How many requests in flight the accepted rate sustains (Little's law: pages answered per
   * ms × the round trip), at least 1; undefined before it can be told. The rate is counted since
   * K last changed (over ACCEPTED_RATE_SPAN_MS at most): answers from before, at a lower K, would
   * make a rate the API set look lower than it is. Under MIN_RATE_SPAN_MS since the change: too
   * short to tell (K is only halved).
   */
  private acceptedLevel(now: number): number | undefined {
    this.forgetAnswers(now);
    const from = Math.max(now - ACCEPTED_RATE_SPAN_MS, this.changedAt);
    if (this.roundTripMs === undefined || now - from < MIN_RATE_SPAN_MS) return undefined;
    let answers = 0;
    for (const at of this.answeredAt) if (at > from) answers++;
    if (answers === 0) return undefined;
    return Math.max(1, Math.floor((answers / (now - from)) * this.roundTripMs));
  }

  private noteAnswer(): void {
    const now = this.options.clock.now();
    this.answeredAt.push(now);
    this.forgetAnswers(now);
  }

  private forgetAnswers(now: number): void {
    const from = now - ACCEPTED_RATE_SPAN_MS;
    let n = 0;
    while (n < this.answeredAt.length && (this.answeredAt[n] ?? now) <= from) n++;
    if (n > 0) this.answeredAt.splice(0, n);
  }

  private measureRoundTrip(ms: number): void {
    this.roundTripMs = this.roundTripMs === undefined ? ms : 0.8 * this.roundTripMs + 0.2 * ms;
  }

  private grow(double: boolean): void {
    this.current = Math.min(this.options.max, double ? this.current * 2 : this.current + 1);
    if (this.ceiling !== Number.POSITIVE_INFINITY) this.current = Math.min(this.current, this.ceiling);
    this.successes = 0;
    this.changedAt = this.options.clock.now();
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  try {
    signal?.throwIfAborted();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return new Error('aborted');
}
