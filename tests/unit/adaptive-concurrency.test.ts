import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';

function pages(k: AdaptiveConcurrency, n: number, latencyBound = true): void {
  for (let i = 0; i < n; i++) k.answered(latencyBound);
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

  it('refuses a maximum below 1', () => {
    expect(() => new AdaptiveConcurrency({ max: 0, clock: new ManualClock() })).toThrow(RangeError);
  });
});
