import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';

function pages(k: AdaptiveConcurrency, n: number, latencyBound = true): void {
  for (let i = 0; i < n; i++) k.answered(latencyBound);
}

/** Lets promise callbacks and a few event-loop turns run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** K = 1 (max 8, a probe every 50 pages) once one page request of 300 ms measured the round trip. */
async function withMeasuredRoundTrip(): Promise<{ clock: ManualClock; k: AdaptiveConcurrency }> {
  const clock = new ManualClock();
  const k = new AdaptiveConcurrency({ max: 8, clock, probeAfterPages: 50 });
  const release = await k.acquire(clock.sleep, new AbortController().signal);
  clock.advance(300);
  release();
  return { clock, k };
}

/**
 * K grown to 8 after a measured 300 ms round trip, then `n` pages answered one every `everyMs`
 * (the rate the API accepts), then a 429 to a request sent 300 ms before.
 */
async function throttledAfter(n: number, everyMs: number): Promise<AdaptiveConcurrency> {
  const { clock, k } = await withMeasuredRoundTrip();
  pages(k, 7);
  expect(k.limit).toBe(8);
  for (let i = 0; i < n; i++) {
    clock.advance(everyMs);
    k.answered(true);
  }
  k.throttled(clock.now() - 300);
  return k;
}

describe('AdaptiveConcurrency', () => {
  it('starts at 1 and doubles per round of K latency-bound pages, up to the maximum', () => {
    const k = new AdaptiveConcurrency({ max: 8, clock: new ManualClock() });
    expect(k.limit).toBe(1);
    pages(k, 1);
    expect(k.limit).toBe(2);
    pages(k, 2);
    expect(k.limit).toBe(4);
    pages(k, 4);
    expect(k.limit).toBe(8);
    pages(k, 100);
    expect(k.limit).toBe(8);
  });

  it('does not grow while pages were already there when asked for (not latency-bound)', () => {
    const k = new AdaptiveConcurrency({ max: 8, clock: new ManualClock() });
    pages(k, 50, false);
    expect(k.limit).toBe(1);
  });

  it('does not grow while the event loop is busy most of the time (loopback: waits are not the pace)', () => {
    let busy = 0.9;
    const k = new AdaptiveConcurrency({ max: 8, clock: new ManualClock(), busyShare: () => busy });
    pages(k, 50);
    expect(k.limit).toBe(1);
    busy = 0.2;
    pages(k, 1);
    expect(k.limit).toBe(2);
    busy = 0.5;
    pages(k, 50);
    expect(k.limit).toBe(2);
  });

  it('halves once per burst of 429s, pauses for Retry-After, then grows back slowly below the throttled level', () => {
    const clock = new ManualClock();
    const k = new AdaptiveConcurrency({ max: 16, clock, probeAfterPages: 50 });
    pages(k, 1 + 2 + 4);
    expect(k.limit).toBe(8);
    const sentAt = clock.now();
    clock.advance(300);
    // Eight requests in flight, all answered 429: one cut.
    for (let i = 0; i < 8; i++) k.throttled(sentAt, 2_000);
    expect(k.limit).toBe(4);
    expect(k.waitMs()).toBe(2_000);
    clock.advance(2_000);
    expect(k.waitMs()).toBe(0);
    // A request sent after the cut and throttled again: another cut.
    k.throttled(clock.now());
    expect(k.limit).toBe(2);
    // Back up by one per round, to just under the last throttled level (4), then probing only.
    pages(k, 2);
    expect(k.limit).toBe(3);
    pages(k, 49);
    expect(k.limit).toBe(3);
    pages(k, 1);
    expect(k.limit).toBe(4);
  });

  it('gives at most K page requests a permit; a release or K growing lets the next one go', async () => {
    const clock = new ManualClock();
    const k = new AdaptiveConcurrency({ max: 4, clock });
    pages(k, 1);
    expect(k.limit).toBe(2);
    const signal = new AbortController().signal;
    const first = await k.acquire(clock.sleep, signal);
    await k.acquire(clock.sleep, signal);
    let third: (() => void) | undefined;
    void k.acquire(clock.sleep, signal).then((release) => (third = release));
    await settle();
    expect(third).toBeUndefined();
    expect(k.inFlight).toBe(2);
    first();
    await settle();
    expect(third).toBeDefined();
    expect(k.inFlight).toBe(2);
    let fourth = false;
    void k.acquire(clock.sleep, signal).then(() => (fourth = true));
    await settle();
    expect(fourth).toBe(false);
    // Two more latency-bound pages: K doubles to 4, the waiting request goes.
    pages(k, 2);
    expect(k.limit).toBe(4);
    await settle();
    expect(fourth).toBe(true);
    expect(k.inFlight).toBe(3);
  });

  it('holds every page request, not only new windows, until a Retry-After has run out', async () => {
    const clock = new ManualClock();
    const k = new AdaptiveConcurrency({ max: 8, clock });
    pages(k, 1 + 2 + 4);
    k.throttled(clock.now(), 1_000);
    const before = clock.now();
    const release = await k.acquire(clock.sleep, new AbortController().signal);
    expect(clock.now() - before).toBe(1_000);
    release();
  });

  it('a request waiting for a permit stops when its signal aborts', async () => {
    const clock = new ManualClock();
    const k = new AdaptiveConcurrency({ max: 2, clock });
    const controller = new AbortController();
    await k.acquire(clock.sleep, controller.signal);
    const waiting = k.acquire(clock.sleep, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    expect(k.inFlight).toBe(1);
  });

  it('a permit released with { measure: false } (its request given up) leaves the round trip as measured', async () => {
    const { clock, k } = await withMeasuredRoundTrip();
    const release = await k.acquire(clock.sleep, new AbortController().signal);
    clock.advance(10);
    release({ measure: false });
    expect(k.roundTrip).toBe(300);
    expect(k.inFlight).toBe(0);
  });

  it('changed() resolves when K grows: a run may start another window before any ends', async () => {
    const k = new AdaptiveConcurrency({ max: 4, clock: new ManualClock() });
    let woken = false;
    void k.changed().then(() => (woken = true));
    await settle();
    expect(woken).toBe(false);
    pages(k, 1);
    await settle();
    expect(woken).toBe(true);
  });

  it('under a rate limit far below K, a throttle cuts K to the level the accepted rate sustains, and grows no further than that until a probe', async () => {
    // Pages take 300 ms each; the API accepts 10 a second (one every 100 ms) whatever K is.
    // A 429: 20 pages over the last 2 s at 300 ms each sustain 3 requests in flight, not 4 (halved).
    const k = await throttledAfter(20, 100);
    expect(k.limit).toBe(3);
    pages(k, 49);
    expect(k.limit).toBe(3);
    // The probe, after probeAfterPages: one level up.
    pages(k, 1);
    expect(k.limit).toBe(4);
  });

  it('after a cut to half, K grows back no further than the accepted level, not towards the old K', async () => {
    // The API accepted about 13.5 pages a second: 4 requests of 300 ms in flight, as half of 8.
    const k = await throttledAfter(27, 74);
    expect(k.limit).toBe(4);
    pages(k, 49);
    expect(k.limit).toBe(4);
    pages(k, 1);
    expect(k.limit).toBe(5);
  });

  it('counts the accepted rate only since K last changed: pages answered at a lower K do not make the limit look lower', async () => {
    const { clock, k } = await withMeasuredRoundTrip();
    // 1.4 s at K = 1..4: a few pages.
    k.answered(true);
    clock.advance(700);
    pages(k, 2);
    clock.advance(700);
    pages(k, 3);
    expect(k.limit).toBe(4);
    // K = 8 for 0.6 s: 13 pages answered (about 22 a second: 6 requests of 300 ms in flight).
    pages(k, 1);
    expect(k.limit).toBe(8);
    for (let i = 0; i < 13; i++) {
      clock.advance(46);
      k.answered(true);
    }
    k.throttled(clock.now() - 300);
    // Over the whole 2 s the count would say 3 (20 pages); since K became 8 it says 6: halved, 4.
    expect(k.limit).toBe(4);
  });

  it('a throttle while the accepted rate sustains half of K or more (a 5xx, a brief limit) only halves K', async () => {
    // 8 in flight, 300 ms each: about 27 pages a second, all accepted.
    const k = await throttledAfter(53, 37);
    expect(k.limit).toBe(4);
    // Back up by one per round to just under the level throttled (8).
    pages(k, 4 + 5 + 6);
    expect(k.limit).toBe(7);
  });

  it('refuses a maximum below 1', () => {
    expect(() => new AdaptiveConcurrency({ max: 0, clock: new ManualClock() })).toThrow(RangeError);
  });
});
