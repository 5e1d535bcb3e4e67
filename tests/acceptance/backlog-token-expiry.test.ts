import type { ExpiredTokenAnswer } from '../../simulator';
import type { Harness } from '../integration/harness';
import { BACKLOG_RECORDS, runBacklog } from './backlog-harness';

jest.setTimeout(120_000);

/**
 * The issue-9 backlog (backlog-desc-tokens.test.ts) with the other answers a real tenant may
 * give to an expired token: an empty page without a token, 400 (as a bad token), 401 (as bad
 * credentials). Each restarts the read; none ends the window, none stops the stream.
 */
describe.each<[ExpiredTokenAnswer, RegExp]>([
  ['empty', /a page token (sent \d+ s after it arrived )?was answered with no logs/],
  ['400', /a page token was refused \(HTTP 400/],
  ['401', /a page token was refused \(HTTP 401/],
])('a 20,000-record backlog, newest first, expired tokens answered %s', (expiredTokenAnswer, reason) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('delivers every record exactly once, each twin twice; the stream never stops', async () => {
    const run = await runBacklog({ expiredTokenAnswer });
    h = run.harness;
    expect(run.stored).toBe(BACKLOG_RECORDS);
    expect(run.twins).toBeGreaterThan(200);
    const restarts = h.logger.entries
      .filter((e) => e.message.includes(' again from its start: '))
      .map((e) => e.message);
    // Whether a token reaches the API after its life depends on how the three streams' requests
    // interleave on the shared clock; when one did, its answer restarted the read.
    expect(restarts.length).toBeGreaterThan(0);
    if (h.simulator.stats.expiredTokens > 0) expect(restarts.some((m) => reason.test(m))).toBe(true);
    expect(run.check).toEqual({ missing: [], extra: [] });
    expect(run.received).toBe(BACKLOG_RECORDS);
    // A 401 to a token is not an authentication failure: no stream stopped, nothing critical.
    expect(h.logger.messages('critical')).toEqual([]);
    expect(h.logger.messages('error').filter((m) => m.includes(' stopped: '))).toEqual([]);
    console.log(
      `backlog (expiry answered ${expiredTokenAnswer}): ${run.received} events for ${run.stored} records ` +
        `(${run.twins} twins); TMES ${JSON.stringify(h.simulator.stats.statuses)}, ` +
        `${h.simulator.stats.expiredTokens} expired tokens, ${restarts.length} read restarts.`,
    );
  });
});
