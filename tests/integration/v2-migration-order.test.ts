import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseIsoTime } from '../../trigger_fetch_new_logs/iso-time';
import { recordKey } from '../../trigger_fetch_new_logs/record-identity';
import { Harness, NOW, identity } from './harness';

jest.setTimeout(60_000);

const MIN = 60_000;
const STREAMS = ['accepted_traffic', 'blocked_traffic'] as const;

/**
 * Records of two streams, and a version-2 head that was reading [-40 min, -20 min] of each and
 * had delivered all of it. Returns that window's start and what version 2 delivered.
 */
function versionTwoHead(h: Harness): { start: number; delivered: Set<string> } {
  h.simulator.generate({
    start: NOW - 50 * MIN,
    end: NOW - 5 * MIN,
    counts: { accepted_traffic: 120, blocked_traffic: 120, policy_events: 0 },
    seed: 11,
  });
  const start = NOW - 40 * MIN;
  const end = NOW - 20 * MIN;
  const inWindow = (r: Record<string, unknown>): boolean => {
    const t = parseIsoTime(r.genTime) ?? NaN;
    return t >= start && t <= end;
  };
  const delivered = new Set<string>();
  const streams: Record<string, unknown> = {};
  for (const stream of STREAMS) {
    const listed = h.simulator.records(stream).filter(inWindow);
    expect(listed.length).toBeGreaterThan(10);
    for (const r of listed) delivered.add(identity(r));
    streams[stream] = {
      cursor: new Date(start).toISOString(),
      window: {
        start: new Date(start).toISOString(),
        end: new Date(end).toISOString(),
        delivered: listed.map((r) => recordKey(stream, r)),
      },
      edge: [],
    };
  }
  writeFileSync(join(h.dataPath, 'context.json'), JSON.stringify({ version: 2, streams }));
  return { start, delivered };
}

describe('a version-2 checkpoint of several streams', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('no stream commits the head before every stream journaled its version-2 identities (a kill in between loses none)', async () => {
    h = new Harness({ configuration: { start_time: 1 } });
    const { start, delivered } = versionTwoHead(h);

    await h.start({ log_types: [...STREAMS] });
    // blocked_traffic's journal is slow to list: accepted_traffic may run meanwhile, but must
    // not commit the head (which would drop blocked_traffic's version-2 list) before it is journaled.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const objects = h.store?.objects;
    if (objects === undefined) throw new Error('not started');
    const list = objects.list.bind(objects);
    objects.list = async (prefix, signal) => {
      if (prefix === 'ledger.blocked_traffic.') await gate;
      return list(prefix, signal);
    };
    // Without the ordering, accepted_traffic's first batch commits the head within ~100 ms.
    await h.until(() => h.writes.some((w) => w.kind === 'head'), 1_000).catch(() => undefined);
    h.store?.kill();
    release();
    await h.crash();

    h.launch();
    const expected = STREAMS.flatMap((s) => h.simulator.records(s))
      // Before the version-2 cursor is not read again.
      .filter((r) => (parseIsoTime(r.genTime) ?? NaN) >= start)
      .map(identity)
      .filter((r) => !delivered.has(r));
    await h.until(() => h.intake.events.length >= expected.length);
    const received = h.received().map(identity);
    // Version 2 delivered these: none is sent again.
    expect(received.filter((r) => delivered.has(r)).length).toBe(0);
    expect([...received].sort()).toEqual([...expected].sort());
  });

  it('a stream that cannot read its journal while its version-2 identities are still to be journaled: no stream runs', async () => {
    h = new Harness({ configuration: { start_time: 1 } });
    versionTwoHead(h);
    await h.start({ log_types: [...STREAMS] });
    const objects = h.store?.objects;
    if (objects === undefined) throw new Error('not started');
    const corrupt = 'ledger.blocked_traffic.journal.000000000003';
    const list = objects.list.bind(objects);
    const load = objects.load.bind(objects);
    objects.list = async (prefix, signal) =>
      prefix === 'ledger.blocked_traffic.' ? [corrupt] : list(prefix, signal);
    objects.load = async (name, signal) => (name === corrupt ? {} : load(name, signal));
    await h.until(() => h.logger.messages('critical').some((m) => m.includes('blocked_traffic')));
    // accepted_traffic's first commit would have written the head without blocked_traffic's
    // version-2 list, and deleting the unreadable journal would then send that window again.
    expect(h.writes.filter((w) => w.kind === 'head')).toEqual([]);
    expect(h.intake.events).toEqual([]);
  });
});
