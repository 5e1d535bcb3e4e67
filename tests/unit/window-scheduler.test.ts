import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { AdaptiveConcurrency } from '../../trigger_fetch_new_logs/adaptive-concurrency';
import type { TimeWindow } from '../../trigger_fetch_new_logs/tmes-client';
import { readInParallel, WindowRun } from '../../trigger_fetch_new_logs/window-scheduler';

const MINUTE = 60_000;

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('readInParallel', () => {
  it('starts another window as soon as K grows, while the windows in flight are still being read', async () => {
    const clock = new ManualClock();
    const concurrency = new AdaptiveConcurrency({ max: 4, clock });
    const started: TimeWindow[] = [];
    const finish: (() => void)[] = [];
    let planned = 0;
    const reading = readInParallel({
      run: new WindowRun(0, 0),
      concurrency,
      sleep: clock.sleep,
      signal: new AbortController().signal,
      next: (run) => (planned++ < 3 ? { start: run.nextStart, end: run.nextStart + MINUTE } : undefined),
      read: (window) => {
        started.push(window);
        return new Promise<number>((resolve) =>
          finish.push(() => {
            resolve(1);
          }),
        );
      },
      advance: () => Promise.resolve(),
    });
    await settle();
    expect(started).toHaveLength(1);
    // The first window's first page came back after a wait: K = 2. Nothing has ended yet.
    concurrency.answered(true);
    await settle();
    expect(started).toHaveLength(2);
    for (const end of finish) end();
    await settle();
    finish.splice(0).forEach((end) => {
      end();
    });
    await reading;
    expect(started).toHaveLength(3);
  });

  it('counts an empty window (no page handed over) as one answered request: K grows through a quiet stretch', async () => {
    const clock = new ManualClock();
    const concurrency = new AdaptiveConcurrency({ max: 8, clock });
    let planned = 0;
    let most = 0;
    let open = 0;
    await readInParallel({
      run: new WindowRun(0, 0),
      concurrency,
      sleep: clock.sleep,
      signal: new AbortController().signal,
      next: (run) => (planned++ < 20 ? { start: run.nextStart, end: run.nextStart + MINUTE } : undefined),
      read: async () => {
        open++;
        most = Math.max(most, open);
        await settle();
        open--;
        return 0;
      },
      advance: () => Promise.resolve(),
    });
    expect(concurrency.limit).toBe(8);
    expect(most).toBeGreaterThan(1);
  });
});
