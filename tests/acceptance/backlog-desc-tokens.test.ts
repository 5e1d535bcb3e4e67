import type { TmesSimulatorOptions } from '../../simulator';
import type { Harness } from '../integration/harness';
import { BACKLOG_RECORDS, runBacklog } from './backlog-harness';

jest.setTimeout(120_000);

/**
 * Issue 9, "Done when": a 20,000-record backlog in descending order with 5 % empty-token
 * pages, twins, a 60 s intake outage and a 20 s token life answered 204 is delivered exactly
 * once, twins twice. The same with handle tokens, and with API faults on top.
 */
describe.each<[string, TmesSimulatorOptions]>([
  ['opaque tokens, expiry answered 204', {}],
  ['handle tokens, expiry answered 204', { tokenStyle: 'handle' }],
  [
    'opaque tokens, expiry answered 204, with 429/500/dropped connections',
    { faults: { rate429: 0.03, retryAfterSeconds: 2, rate500: 0.03, rateDrop: 0.01, seed: 7 } },
  ],
])('a 20,000-record backlog, newest first, %s', (_name, simulator) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('delivers every record exactly once, each twin twice', async () => {
    const run = await runBacklog(simulator);
    h = run.harness;
    expect(run.stored).toBe(BACKLOG_RECORDS);
    expect(run.twins).toBeGreaterThan(200);
    // The outage really happened. (Empty token pages are drawn at 5 % of some 70 pages, in an
    // order the streams' interleaving decides: a run may draw none. page-tokens.test.ts pins
    // that rule deterministically; the figure is in the log line below.)
    const stats = h.simulator.stats;
    expect(h.intake.responses.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    // The expiry path really ran: the API answered an expired token, and reads restarted. Which
    // restart rule fires first (a token held through the outage, or one answered after its life)
    // depends on how the streams' requests interleave; page-tokens.test.ts pins each rule alone.
    const restarts = h.logger.entries
      .filter((e) => e.message.includes(' again from its start: '))
      .map((e) => e.message);
    expect(restarts.length).toBeGreaterThan(0);
    expect(run.check).toEqual({ missing: [], extra: [] });
    expect(run.received).toBe(BACKLOG_RECORDS);
    expect(h.logger.messages('critical')).toEqual([]);
    console.log(
      `backlog (${_name}): ${run.received} events for ${run.stored} records (${run.twins} twins); ` +
        `TMES ${JSON.stringify(stats.statuses)}, ${stats.emptyPages} empty pages, ${stats.expiredTokens} expired tokens, ` +
        `${stats.dropped} dropped; intake ${h.intake.responses.filter((r) => r.status === 503).length}×503; ` +
        `${restarts.length} read restarts.`,
    );
  });
});
