import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Measures of the event loop's busy time, as `performance.eventLoopUtilization` gives them. */
export type LoopUtilization = (
  current?: EventLoopUtilization,
  previous?: EventLoopUtilization,
) => EventLoopUtilization;

/** Shorter spans say more about one page than about the load. */
const SPAN_MS = 250;

/**
 * How busy this process's event loop was lately (0: idle, 1: never waiting). Page waits are
 * worth more windows in flight only while the loop really idles on them: on a near-zero-latency
 * API (loopback) every stream still waits for its answer, but the loop is busy with the other
 * streams' pages, and more windows would only hold more pages and batches in memory.
 */
export class EventLoopLoad {
  private since: EventLoopUtilization;
  /** Busy until a first span says otherwise: no window is added on a start-up's idle moments. */
  private last = 1;

  constructor(
    private readonly utilization: LoopUtilization = (c, p) => performance.eventLoopUtilization(c, p),
  ) {
    this.since = utilization();
  }

  /** Busy share over the last span of at least SPAN_MS (the previous span's until one ends). */
  busyShare(): number {
    const now = this.utilization();
    const span = this.utilization(now, this.since);
    if (span.idle + span.active < SPAN_MS) return this.last;
    this.since = now;
    this.last = span.utilization;
    return this.last;
  }
}
