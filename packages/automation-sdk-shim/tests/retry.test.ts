import { TransientError } from '../src/errors';
import {
  DEFAULT_BACKOFF,
  backoffDelay,
  failure,
  parseRetryAfter,
  retry,
  retryable,
  success,
} from '../src/retry';
import { ManualClock } from '../src/testing';

describe('retry', () => {
  it('retries retryable decisions and returns the success value', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const value = await retry(
      () => Promise.resolve(++calls < 3 ? retryable<string>(new Error('busy')) : success('ok')),
      { clock, sleep: clock.sleep, random: () => 0.5 },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
    expect(clock.slept).toBe(
      backoffDelay(0, DEFAULT_BACKOFF, () => 0.5) + backoffDelay(1, DEFAULT_BACKOFF, () => 0.5),
    );
  });

  it('honours a Retry-After hint over the computed backoff', async () => {
    const clock = new ManualClock();
    let calls = 0;
    await retry(
      () => Promise.resolve(++calls === 1 ? retryable<null>(new Error('429'), 7000) : success(null)),
      {
        clock,
        sleep: clock.sleep,
      },
    );
    expect(clock.slept).toBe(7000);
  });

  it('treats a Retry-After of 0 (or a past date) as a floor, still backing off', async () => {
    const clock = new ManualClock();
    let calls = 0;
    await retry(() => Promise.resolve(++calls < 4 ? retryable<null>(new Error('503'), 0) : success(null)), {
      clock,
      sleep: clock.sleep,
      random: () => 0,
    });
    // Equal jitter with random 0: 500 + 1000 + 2000 ms, not three immediate retries.
    expect(clock.slept).toBe(3500);
  });

  it('fails fast on a failure decision', async () => {
    const clock = new ManualClock();
    let calls = 0;
    await expect(
      retry(
        () => {
          calls++;
          return Promise.resolve(failure(new Error('bad request')));
        },
        { clock, sleep: clock.sleep },
      ),
    ).rejects.toThrow('bad request');
    expect(calls).toBe(1);
    expect(clock.slept).toBe(0);
  });

  it('gives up with a TransientError once the deadline would pass', async () => {
    const clock = new ManualClock();
    const policy = { initialMs: 1000, maxMs: 4000, deadlineMs: 10_000 };
    const promise = retry(() => Promise.resolve(retryable(new Error('down'))), {
      clock,
      sleep: clock.sleep,
      policy,
      random: () => 0.99,
    });
    await expect(promise).rejects.toBeInstanceOf(TransientError);
    expect(clock.slept).toBeLessThanOrEqual(10_000);
    expect(clock.slept).toBeGreaterThan(5_000);
  });

  it('stops waiting when aborted', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const promise = retry(
      () => {
        controller.abort();
        return Promise.resolve(retryable(new Error('down')));
      },
      { clock, sleep: clock.sleep, signal: controller.signal },
    );
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('grows exponentially, stays within [exp/2, exp] and caps at maxMs', () => {
    const policy = { initialMs: 100, maxMs: 1000, deadlineMs: 1e9 };
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
  });
});
