import { Harness, HOUR, NOW } from './harness';

jest.setTimeout(30_000);

describe('the first window, planned on the server clock', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('host clock 2 h ahead of TMES, no checkpoint: the last hour (start_time 1) is collected', async () => {
    // The simulated TMES server runs 2 h behind the host: its "now" is NOW - 2 h.
    h = new Harness({ simulatorBehindMs: 2 * HOUR, configuration: { start_time: 1 } });
    const serverNow = NOW - 2 * HOUR;
    h.simulator.generate({
      start: serverNow - 50 * 60_000,
      end: serverNow - 5 * 60_000,
      counts: { accepted_traffic: 200, blocked_traffic: 0, policy_events: 0 },
      seed: 3,
    });
    await h.start({ log_types: ['accepted_traffic'] });
    await h.until(() => h.intake.events.length >= 200);
    expect(h.intake.events).toHaveLength(200);
  });
});
