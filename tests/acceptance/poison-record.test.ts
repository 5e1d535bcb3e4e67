import type { TmesRecord } from '../../simulator';
import { DEPTH_MARKER } from '../../trigger_fetch_new_logs/record-identity';
import { ApiProxy } from '../helpers/api-proxy';
import { checkDelivery } from '../helpers/late-traffic';
import { Harness, NOW } from '../integration/harness';
import { closedAfterEach, forwardedTotal, hourOfTraffic, MINUTE } from './live-traffic';

jest.setTimeout(120_000);
const POISON_AT = NOW + 5 * MINUTE;
const LIVE_UNTIL = NOW + 15 * MINUTE;
const POISON_ID = 'poison-00000000-0000-4000-8000-000000005000';
/** Stored in the simulator, replaced on the wire (JSON.stringify cannot write 5,000 levels). */
const PLACEHOLDER = '"__nested 5000 levels__"';
const DEEP_TEXT = '{"d":'.repeat(5_000) + '"bottom"' + '}'.repeat(5_000);

/** A well-formed accepted_traffic record whose `details` become 5,000 levels deep on the wire. */
const POISON = {
  genTime: new Date(POISON_AT).toISOString(),
  timestamp: new Date(POISON_AT).toISOString(),
  mailID: POISON_ID,
  sender: 'sender@example.org',
  recipient: 'user@example.com',
  subject: 'nested 5,000 levels deep',
  action: 'Delivered',
  details: JSON.parse(PLACEHOLDER) as string,
} as unknown as TmesRecord;

/**
 * Issue 9, "Done when": a record nested 5,000 levels deep, served among normal ones in live
 * traffic, is forwarded once in its safe form with an error log (an excerpt) and a metric;
 * everything else arrives; the cursor moves past it and later records arrive; the late-log
 * re-reads of its period neither send it again nor count it again.
 */
describe.each(['raw', 'ecs'] as const)('a poison record in live traffic (output %s)', (outputFormat) => {
  const keep = closedAfterEach();

  it('goes out once in a safe form, is counted and logged; nothing stalls', async () => {
    // Realistic polling (60 s): the clock runs through 15 minutes of live traffic in few polls.
    const harness = keep(
      new Harness({ configuration: { start_time: 1, frequency: 60, output_format: outputFormat } }),
    );
    const normal = hourOfTraffic(harness, LIVE_UNTIL, 5);
    harness.simulator.add('accepted_traffic', [POISON]);
    const proxy = keep(
      new ApiProxy({
        upstream: () => harness.simulator.url,
        rewrite: (body) => body.replace(PLACEHOLDER, DEEP_TEXT),
      }),
    );
    const apiUrl = await proxy.start();
    const forwarded = (): number => forwardedTotal(harness);

    await harness.start({ service_url: apiUrl });
    // Every record up to 15 min of live time arrives (the poison's successors included), and
    // the clock runs on past the poison period's 2- and 10-minute re-reads.
    await harness.until(() => forwarded() >= normal.length + 1, 30_000);
    await harness.until(() => harness.clock.now() > POISON_AT + 15 * MINUTE, 30_000);
    const unprocessable = await harness.metricLines(
      'symphony_module_trend_micro_unprocessable_records_total',
    );
    const rereadPages = await harness.metricLines('symphony_module_trend_micro_reread_pages_total');
    expect(await harness.stop()).toBe(0);

    const events = harness.intake.events;
    const poisoned = events.filter((e) => e.includes(DEPTH_MARKER));
    expect(poisoned).toHaveLength(1);
    const others = events.filter((e) => !e.includes(DEPTH_MARKER));
    if (outputFormat === 'raw') {
      const received = others.map((e) => JSON.parse(e) as unknown);
      expect(checkDelivery(received, { must: normal, may: normal })).toEqual({ missing: [], extra: [] });
      // The safe form keeps the record's own fields.
      expect(poisoned[0]).toContain(POISON_ID);
    } else {
      // An ECS document like every other event, the safe form in its message.
      const doc = JSON.parse(poisoned[0] ?? '{}') as { event?: { kind?: string }; message?: string };
      expect(doc.event?.kind).toBe('event');
      expect(doc.message).toContain(POISON_ID);
      expect(others).toHaveLength(normal.length);
      expect(new Set(others).size).toBe(normal.length);
    }
    expect(unprocessable).toMatch(/\{type="accepted_traffic"\} 1$/m);
    // The poison's period was read again by the late-log passes (and not re-sent, above).
    expect(rereadPages).toMatch(/\{type="accepted_traffic"\} [1-9]\d*$/m);
    const errors = harness.logger.messages('error');
    const poisonLogs = errors.filter((m) => m.includes('could not be processed'));
    expect(poisonLogs).toHaveLength(1);
    expect(poisonLogs[0]).toMatch(
      /accepted_traffic: a record could not be processed as it is \(.*\); forwarded in a safe form/,
    );
    expect(poisonLogs[0]).toMatch(/Excerpt: \{.*poison-00000000/);
    expect(harness.logger.messages('critical')).toEqual([]);
    console.log(
      `poison record (${outputFormat}): ${events.length} events for ${normal.length} records + 1 poison; ` +
        `${errors.length} error log(s); ${unprocessable.replace(/\n/g, ' ')}; ${rereadPages.replace(/\n/g, ' ')}`,
    );
  });
});
