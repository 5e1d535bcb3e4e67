/**
 * An in-memory TMES API for collector unit tests, and a forwarder that counts deliveries: the
 * set-up the parallel-window, read-ahead and shared-budget tests share.
 */
import type { TimeWindow } from '../../trigger_fetch_new_logs/tmes-client';
import type { Forwarder, PageSource } from '../../trigger_fetch_new_logs/stream-collector';

export interface TimedRecord {
  id: number;
  genTime: string;
}

/** What the API saw: every window asked for, and how many were read at once. */
export interface Trace {
  windows: TimeWindow[];
  inFlight: number;
  maxInFlight: number;
  pagesServed: number;
}

export function newTrace(): Trace {
  return { windows: [], inFlight: 0, maxInFlight: 0, pagesServed: 0 };
}

/**
 * An API with latency: a page is ready `turns` event-loop turns after it is asked for (the
 * reader waits: latency-bound), so reads of several windows interleave. `onPage` runs before
 * each page is handed over (the place a 429 storm is played).
 */
export function slowApi(
  records: readonly TimedRecord[],
  trace: Trace,
  options: { turns?: number; onPage?: (n: number) => void } = {},
): PageSource {
  const { turns = 6, onPage = () => undefined } = options;
  return async function* (_stream, window, pageSize) {
    trace.windows.push({ start: window.start, end: window.end });
    trace.inFlight++;
    trace.maxInFlight = Math.max(trace.maxInFlight, trace.inFlight);
    try {
      const inWindow = records.filter((r) => {
        const t = Date.parse(r.genTime);
        return t >= window.start && t <= window.end;
      });
      for (let i = 0; i < inWindow.length || i === 0; i += pageSize) {
        for (let turn = 0; turn < turns; turn++) await new Promise((r) => setImmediate(r));
        onPage(trace.pagesServed++);
        yield { logs: inWindow.slice(i, i + pageSize), restart: false };
      }
    } finally {
      trace.inFlight--;
    }
  };
}

/**
 * A forwarder that takes an event-loop turn (reads of other windows go on meanwhile), may fail
 * through `before`, then counts each delivered record by id.
 */
export function countingForward(
  delivered: Map<number, number>,
  before: (events: readonly string[]) => void = () => undefined,
): Forwarder {
  return async (events) => {
    await new Promise((r) => setImmediate(r));
    before(events);
    for (const e of events) {
      const { id } = JSON.parse(e) as TimedRecord;
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
    }
  };
}
