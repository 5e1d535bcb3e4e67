import type { Clock, Sleep } from '../time';

/**
 * Simulated time for tests and demos: `sleep` advances the clock instantly (after letting
 * other pending work run), so a "30 s outage" takes microseconds and stays deterministic.
 */
export class ManualClock implements Clock {
  private current: number;
  /** Total simulated time slept, for assertions on backoff. */
  slept = 0;

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === 'number' ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }

  set(ms: number): void {
    this.current = ms;
  }

  readonly sleep: Sleep = async (ms, signal) => {
    signal?.throwIfAborted();
    // Yield to the event loop so real I/O (loopback servers) interleaves with simulated waits.
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
    const step = Math.max(0, ms);
    this.current += step;
    this.slept += step;
  };
}
