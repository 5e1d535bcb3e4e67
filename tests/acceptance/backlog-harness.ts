/**
 * The issue-9 backlog, shared by the acceptance files that run it under different token
 * behaviours: 20,000 records served newest first, with empty pages carrying a token, exact
 * twins, a 60 s intake outage and tokens that expire after 20 s.
 */
import type { TmesSimulatorOptions } from '../../simulator';
import { checkDelivery, type DeliveryCheck } from '../helpers/late-traffic';
import { Harness, HOUR, NOW } from '../integration/harness';

export const BACKLOG_RECORDS = 20_000;

/**
 * Intake outages, each starting when the intake has accepted `afterEvents` events (so it
 * falls in the middle of a read, with page tokens in hand) and lasting `ms` simulated ms.
 * 60 s: the outage; the read holds its tokens far longer than their 20 s life.
 * 15 s: the intake's backoff (0.75, 1.5, 3, 6, 12 s) retries the batch after about 23 s, so a
 * token older than its life but younger than the client's 30 s hold limit reaches the API
 * and gets the expiry answer.
 */
const OUTAGES = [
  { afterEvents: 4_000, ms: 60_000 },
  { afterEvents: 12_000, ms: 15_000 },
];

export interface BacklogRun {
  check: DeliveryCheck;
  /** Stored records (twins included: each listing is one record to deliver). */
  stored: number;
  twins: number;
  received: number;
  harness: Harness;
}

/** Runs the backlog to completion through the real trigger; the caller closes `harness`. */
export async function runBacklog(simulator: TmesSimulatorOptions): Promise<BacklogRun> {
  const h = new Harness({
    simulator: {
      order: 'desc',
      emptyPageRate: 0.05,
      tokenLifeMs: 20_000,
      expiredTokenAnswer: '204',
      ...simulator,
    },
    configuration: { start_time: 3 },
  });
  h.simulator.generate({
    // Two busy hours: windows of thousands of records, so batches are forwarded mid-read.
    start: NOW - 2 * HOUR,
    end: NOW - 2 * 60_000,
    counts: { accepted_traffic: 12_000, blocked_traffic: 4_000, policy_events: 4_000 },
    twinRate: 0.02,
    seed: 2026,
  });
  const all = (['accepted_traffic', 'blocked_traffic', 'policy_events'] as const).flatMap((s) =>
    h.simulator.timeline(s).map((e) => e.record),
  );
  const twins = all.length - new Set(all.map((r) => JSON.stringify(r))).size;
  const started: (number | undefined)[] = OUTAGES.map(() => undefined);
  const down = (): boolean =>
    OUTAGES.some((o, i) => {
      if (started[i] === undefined && h.intake.events.length >= o.afterEvents) started[i] = h.clock.now();
      const at = started[i];
      return at !== undefined && h.clock.now() < at + o.ms;
    });
  h.intake.failWhile(down, { status: 503, body: '{"message":"Service Unavailable"}' });
  await h.start();
  try {
    // Real time for the whole run, re-reads included: the three streams share one simulated
    // clock, and another stream's backoff can move it past a token's life while this stream's
    // request is on the wire — an expiry no pause of its own shows, which the read may take for
    // the window's end. The late-log re-reads then collect what it missed (counted as late logs).
    await h.until(() => h.intake.events.length >= all.length, 100_000);
  } catch (error) {
    const seen = new Set<string>();
    const notable = h.logger.entries
      .filter((e) => e.level !== 'debug' && !e.message.includes('Retrying in'))
      .map((e) => `${e.level} ${e.message.slice(0, 260)}`)
      .filter((m) => (seen.has(m) ? false : (seen.add(m), true)));
    const got = new Set(
      h.intake.events.map((e) => `${(JSON.parse(e) as { genTime: string }).genTime}|${e.length}`),
    );
    for (const stream of ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const) {
      const miss = h.simulator
        .timeline(stream)
        .filter((e) => !got.has(`${String(e.record.genTime)}|${JSON.stringify(e.record).length}`));
      const times = miss.map((e) => e.genTime).sort((a, b) => a - b);
      console.log(
        stream,
        miss.length,
        times.length > 0
          ? `${new Date(times[0]!).toISOString()} – ${new Date(times[times.length - 1]!).toISOString()}`
          : '',
      );
    }
    console.log(
      JSON.stringify(h.simulator.stats.requestsByStream),
      JSON.stringify(
        h.logger.entries
          .filter((e) => e.level === 'debug')
          .slice(-10)
          .map((e) => e.message),
      ),
    );
    console.log(
      `backlog not delivered: ${h.intake.events.length}/${all.length} at +${(h.clock.now() - NOW) / 1000} s\n${notable.slice(-25).join('\n')}`,
    );
    throw error;
  }
  // Keep polling a while: anything sent twice would arrive now.
  const polls = h.simulator.stats.requests;
  await h.until(() => h.simulator.stats.requests > polls + 30);
  expect(await h.stop()).toBe(0);
  const received = h.received();
  return {
    check: checkDelivery(received, { must: all, may: all }),
    stored: all.length,
    twins,
    received: received.length,
    harness: h,
  };
}
