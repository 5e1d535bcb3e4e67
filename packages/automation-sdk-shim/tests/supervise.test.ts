import {
  AuthenticationError,
  ManualClock,
  RUNTIME_RESTART,
  TransientError,
  backoffDelay,
  supervise,
  type SuperviseOptions,
} from '../src';

const half = (): number => 0.5;

describe('supervise: run forever with backoff', () => {
  let clock: ManualClock;
  let stop: AbortController;
  let waits: number[];
  let options: SuperviseOptions;

  beforeEach(() => {
    clock = new ManualClock();
    stop = new AbortController();
    waits = [];
    options = {
      signal: stop.signal,
      policy: RUNTIME_RESTART,
      random: half,
      sleep: (ms, signal) => {
        waits.push(ms);
        return clock.sleep(ms, signal);
      },
    };
  });

  /** Runs `script` in turn (a number = succeed and wait that long, an Error = throw it), then stops. */
  function scripted(script: (number | Error)[]): () => Promise<number> {
    let call = 0;
    return () => {
      const step = script[call++];
      if (call >= script.length) stop.abort();
      return step instanceof Error ? Promise.reject(step) : Promise.resolve(step ?? 0);
    };
  }

  it('backs off with jitter, doubling per failure, and starts over after a success', async () => {
    const busy = new TransientError('busy');
    const end = await supervise(scripted([busy, busy, 0, busy, 0]), options);

    const d = (n: number): number => backoffDelay(n, RUNTIME_RESTART, half);
    expect(waits).toEqual([d(0), d(1), d(0)]);
    expect(end.kind).toBe('stopped');
  });

  it("waits at least a TransientError's retryAfterMs", async () => {
    const throttled = new TransientError('throttled', { retryAfterMs: 120_000 });
    await supervise(scripted([throttled, 0]), options);
    expect(waits).toEqual([120_000]);
  });

  it('never waits longer than the policy allows, whatever the hint', async () => {
    const throttled = new TransientError('throttled', { retryAfterMs: 3_600_000 });
    await supervise(scripted([throttled, 0]), options);
    expect(waits).toEqual([RUNTIME_RESTART.maxMs]);
  });

  it('ends on a fatal error and hands it back, without waiting', async () => {
    const refused = new AuthenticationError('refused');
    const end = await supervise(scripted([refused, 0]), options);
    expect(end).toEqual({ kind: 'fatal', error: refused });
    expect(waits).toEqual([]);
  });

  it('waits what a success asks, and a stop ends that wait at once', async () => {
    let calls = 0;
    const running = supervise(() => {
      calls++;
      return Promise.resolve(60_000);
    }, options);
    await Promise.resolve();
    await Promise.resolve();
    stop.abort();
    expect(await running).toEqual({ kind: 'stopped' });
    expect(calls).toBe(1);
    expect(clock.slept).toBe(0);
  });

  it('tells each transient failure with its count and delay, and calls afterEach after each wait', async () => {
    const told: [number, number][] = [];
    let after = 0;
    await supervise(scripted([new Error('a'), new Error('b'), 0]), {
      ...options,
      onTransient: (_error, failures, delayMs) => told.push([failures, delayMs]),
      afterEach: () => after++,
    });
    expect(told.map(([failures]) => failures)).toEqual([1, 2]);
    expect(told.map(([, delay]) => delay)).toEqual(waits);
    // Two failed attempts and their waits, then the last (successful) attempt.
    expect(after).toBe(3);
  });

  it('a caller can classify its own failures (here: any AbortError stops)', async () => {
    const aborted = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const end = await supervise(scripted([aborted, 0]), {
      ...options,
      classify: (error) => ((error as Error).name === 'AbortError' ? 'stop' : 'transient'),
    });
    expect(end).toEqual({ kind: 'stopped', error: aborted });
  });
});
