/**
 * The set-up the single-fault acceptance tests share (failing window, poison record, poison
 * batch): an hour of backlog running into live traffic on the three streams, one harness per
 * test, closed after it with whatever else the test started (an API proxy).
 */
import type { TmesRecord } from '../../simulator';
import { STREAM_NAMES } from '../../trigger_fetch_new_logs/streams';
import { Harness, HOUR, NOW } from '../integration/harness';

export const MINUTE = 60_000;

interface Closable {
  close?: () => Promise<unknown>;
  stop?: () => Promise<unknown>;
}

/**
 * Registers an afterEach that closes, newest first, everything `keep` was given during the
 * test: a test that fails half-way leaves no server listening for the next one.
 */
export function closedAfterEach(): <T extends Closable>(thing: T) => T {
  let open: Closable[] = [];
  afterEach(async () => {
    const things = open.reverse();
    open = [];
    for (const thing of things) await (thing.close ?? thing.stop)?.call(thing);
  });
  return (thing) => {
    open.push(thing);
    return thing;
  };
}

/**
 * Stores an hour of backlog and live traffic up to `until` (3,000 accepted, 500 blocked, 500
 * policy events) and returns every stored record: what the intake must receive in the end.
 */
export function hourOfTraffic(harness: Harness, until: number, seed: number): TmesRecord[] {
  harness.simulator.generate({
    start: NOW - HOUR,
    end: until,
    counts: { accepted_traffic: 3_000, blocked_traffic: 500, policy_events: 500 },
    seed,
  });
  return STREAM_NAMES.flatMap((s) => harness.simulator.timeline(s).map((e) => e.record));
}

/** Records acknowledged by the intake, all streams: the trigger's own count. */
export function forwardedTotal(harness: Harness): number {
  return [...(harness.trigger?.streamMetrics.totals.values() ?? [])].reduce((n, t) => n + t.forwarded, 0);
}
