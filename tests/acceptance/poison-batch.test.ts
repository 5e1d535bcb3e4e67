import { createHash } from 'node:crypto';
import { checkDelivery } from '../helpers/late-traffic';
import { Harness, NOW } from '../integration/harness';
import { closedAfterEach, forwardedTotal, hourOfTraffic, MINUTE } from './live-traffic';

jest.setTimeout(120_000);
const LIVE_UNTIL = NOW + 15 * MINUTE;

/**
 * Issue 9, "Done when": the intake refuses with 400 every batch that holds one given event.
 * The batch is split, that event is logged and counted as discarded (once, the late-log
 * re-reads of its period included), every other record arrives, and the stream goes on: its
 * cursor passes the event and later records arrive.
 */
describe('a poison batch: the intake refuses any batch holding one event', () => {
  const keep = closedAfterEach();

  it.each([
    ['in the backlog', NOW - 30 * MINUTE],
    ['in live traffic', NOW + 5 * MINUTE],
  ])('%s: discarded once, logged and counted; everything else delivered; no stall', async (_, at) => {
    // Realistic polling (60 s): the clock runs through 15 minutes of live traffic in few polls.
    const harness = keep(new Harness({ configuration: { start_time: 1, frequency: 60 } }));
    const all = hourOfTraffic(harness, LIVE_UNTIL, 6);
    const timeline = harness.simulator.timeline('accepted_traffic');
    const target = timeline.find((e) => e.genTime >= at);
    if (target === undefined) throw new Error('no record after the poison time');
    const poisonId = String(target.record.mailID);
    const others = all.filter((r) => r.mailID !== poisonId);
    expect(others).toHaveLength(all.length - 1);
    harness.intake.refuse = (event) => event.includes(poisonId);
    const settled = (): number => forwardedTotal(harness);

    await harness.start();
    await harness.until(() => harness.intake.events.length >= others.length, 30_000);
    // Past the poison period's 2- and 10-minute re-reads and past the end of the traffic.
    await harness.until(() => harness.clock.now() > Math.max(at, NOW) + 15 * MINUTE, 30_000);
    await harness.until(() => settled() >= all.length, 10_000);
    const discarded = await harness.metricLines('symphony_module_common_discarded_events_total');
    expect(await harness.stop()).toBe(0);

    const received = harness.received();
    expect(checkDelivery(received, { must: others, may: others })).toEqual({ missing: [], extra: [] });
    expect(harness.intake.responses.filter((r) => r.status === 400).length).toBeGreaterThan(0);
    expect(discarded).toMatch(/\} 1$/m);
    const logs = harness.logger.messages('error').filter((m) => m.includes('refused by the Sekoia intake'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /was refused by the Sekoia intake with HTTP 400 and discarded; the other events were delivered/,
    );
    // The log names the event: its hash and its first characters (as sent, raw JSON).
    const sent = JSON.stringify(target.record);
    const sha = createHash('sha256').update(sent).digest('hex').slice(0, 12);
    expect(logs[0]).toContain(`(sha256 ${sha}…`);
    expect(logs[0]).toContain(`It starts with: ${sent.slice(0, 60)}`);
    expect(harness.logger.messages('critical')).toEqual([]);
    console.log(
      `poison batch (${_}): ${received.length} events for ${others.length} records + 1 refused; ` +
        `intake ${harness.intake.requests} requests, ${harness.intake.responses.filter((r) => r.status === 400).length}×400; ${discarded}`,
    );
  });
});
