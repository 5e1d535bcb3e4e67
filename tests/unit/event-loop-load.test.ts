import type { EventLoopUtilization } from 'node:perf_hooks';
import { EventLoopLoad } from '../../trigger_fetch_new_logs/event-loop-load';

/** A fake eventLoopUtilization: cumulative idle/active times the test advances. */
function fakeLoop(): {
  spend(idle: number, active: number): void;
  utilization: (current?: EventLoopUtilization, previous?: EventLoopUtilization) => EventLoopUtilization;
} {
  let idle = 0;
  let active = 0;
  const at = (i: number, a: number): EventLoopUtilization => ({
    idle: i,
    active: a,
    utilization: a / (i + a || 1),
  });
  return {
    spend(i, a) {
      idle += i;
      active += a;
    },
    utilization: (current, previous) => {
      if (current === undefined) return at(idle, active);
      if (previous === undefined) return at(idle - current.idle, active - current.active);
      return at(current.idle - previous.idle, current.active - previous.active);
    },
  };
}

describe('EventLoopLoad', () => {
  it('counts as busy until a first span of 250 ms was measured', () => {
    const loop = fakeLoop();
    const load = new EventLoopLoad(loop.utilization);
    loop.spend(100, 0);
    expect(load.busyShare()).toBe(1);
  });

  it('gives the busy share of the last span, kept until the next span ends', () => {
    const loop = fakeLoop();
    const load = new EventLoopLoad(loop.utilization);
    loop.spend(200, 100);
    expect(load.busyShare()).toBeCloseTo(1 / 3);
    loop.spend(0, 100);
    expect(load.busyShare()).toBeCloseTo(1 / 3);
    loop.spend(0, 200);
    expect(load.busyShare()).toBeCloseTo(1);
  });
});
