import { Harness, NOW } from './harness';

jest.setTimeout(30_000);

const MIN = 60_000;

describe('a stop while the trigger is starting', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('stops every stream: no request reaches the API after the trigger returned', async () => {
    h = new Harness();
    h.simulator.generate({
      start: NOW - 50 * MIN,
      end: NOW - 5 * MIN,
      counts: { accepted_traffic: 50, blocked_traffic: 0, policy_events: 0 },
      seed: 5,
    });
    await h.start({ log_types: ['accepted_traffic'] });
    // The stream's ledger journal is slow to list: the stop arrives while the trigger readies
    // its streams, before they run.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let listing = false;
    const objects = h.store?.objects;
    if (objects === undefined) throw new Error('not started');
    const list = objects.list.bind(objects);
    // A listing that does not watch the stop signal (as a local directory's does not).
    objects.list = async (prefix) => {
      if (prefix.startsWith('ledger.')) {
        listing = true;
        await gate;
      }
      return list(prefix);
    };
    await h.until(() => listing);
    const stopped = h.stop();
    // Let the stop's signal fire while the journal is still being listed, then let it go on.
    await new Promise((r) => setTimeout(r, 20));
    release();
    expect(await stopped).toBe(0);
    const requests = h.simulator.stats.requests;
    // A stream left running would read (and retry) on its own, without the trigger.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.simulator.stats.requests).toBe(requests);
    expect(h.intake.events).toEqual([]);
  });
});
