import { ConfigurationError, type CheckpointStore } from '@sekoia/automation-sdk-shim';
import { MemoryCheckpointStore, MemoryLogger, MemoryNamedObjects } from '@sekoia/automation-sdk-shim/testing';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';

describe('CheckpointBook', () => {
  it('round-trips cursors, windows in progress, re-read ranges and set-aside windows', async () => {
    const store = new MemoryCheckpointStore();
    const book = new CheckpointBook(store, new MemoryLogger());
    const t = Date.UTC(2026, 0, 1);
    const accepted = {
      cursor: t,
      window: { start: t, end: t + 3_600_000 },
      rereads: [{ start: t - 60_000, end: t, pass: 1 }],
      setAside: [
        { start: t - 9_000, end: t - 7_000, error: 'TransientError: boom', attempts: 2, retryAt: t + 1 },
      ],
    };
    await book.commit('accepted_traffic', accepted);
    await book.commit('policy_events', { cursor: Date.UTC(2026, 0, 2), rereads: [], setAside: [] });
    const loaded = await new CheckpointBook(store, new MemoryLogger()).load();
    expect(loaded.get('accepted_traffic')).toEqual(accepted);
    expect(loaded.get('policy_events')).toEqual({ cursor: Date.UTC(2026, 0, 2), rereads: [], setAside: [] });
    expect(loaded.get('blocked_traffic')).toBeUndefined();
    // A Python reader (downgrade) finds last_timestamp where it expects it.
    expect(store.document).toMatchObject({ version: 3, accepted_traffic: { last_timestamp: t / 1000 } });
  });

  it('migrates a version-2 checkpoint: window, cursor, and its identities as ledger entries delivered once', async () => {
    const t = Date.UTC(2026, 0, 1);
    const store = new MemoryCheckpointStore({
      version: 2,
      streams: {
        accepted_traffic: {
          cursor: new Date(t).toISOString(),
          window: {
            start: new Date(t).toISOString(),
            end: new Date(t + 60_000).toISOString(),
            delivered: ['a', 'b'],
          },
          edge: [
            ['e1', t - 500],
            ['e2', null],
          ],
        },
      },
    });
    const loaded = await new CheckpointBook(store, new MemoryLogger()).load();
    expect(loaded.get('accepted_traffic')).toEqual({
      cursor: t,
      window: { start: t, end: t + 60_000 },
      rereads: [],
      setAside: [],
      migrated: [
        ['e1', 1, t - 500],
        ['e2', 1, t],
        ['a', 1, t + 60_000],
        ['b', 1, t + 60_000],
      ],
    });
  });

  it("resumes from the Python Trend Micro module's context.json", async () => {
    const store = new MemoryCheckpointStore({
      accepted_traffic: { last_timestamp: 1_780_000_000, recent_pushed_events: [{ mailID: 'x' }] },
      blocked_traffic: { last_timestamp: 1_780_000_100 },
    });
    const logger = new MemoryLogger();
    const loaded = await new CheckpointBook(store, logger).load();
    expect(loaded.get('accepted_traffic')).toEqual({ cursor: 1_780_000_000_000, rereads: [], setAside: [] });
    expect(loaded.get('blocked_traffic')).toEqual({ cursor: 1_780_000_100_000, rereads: [], setAside: [] });
    expect(loaded.get('policy_events')).toBeUndefined();
    expect(logger.messages('info').join('\n')).toMatch(/Python Trend Micro module/);
  });

  it('starts fresh on an empty document and refuses one it cannot read', async () => {
    expect((await new CheckpointBook(new MemoryCheckpointStore({}), new MemoryLogger()).load()).size).toBe(0);
    await expect(
      new CheckpointBook(new MemoryCheckpointStore([1]), new MemoryLogger()).load(),
    ).rejects.toBeInstanceOf(ConfigurationError);
    const broken = new MemoryCheckpointStore({
      version: 2,
      streams: { accepted_traffic: { cursor: 'yesterday' } },
    });
    await expect(new CheckpointBook(broken, new MemoryLogger()).load()).rejects.toThrow(/no valid cursor/);
    // Version 3 is checked field by field, naming the field and the fix.
    const cursor = new Date(0).toISOString();
    for (const [stream, why] of [
      [{ cursor, rereads: [], setAside: [], window: { start: cursor } }, /accepted_traffic.window/],
      [{ cursor, rereads: [{ start: cursor, end: cursor, pass: -1 }], setAside: [] }, /rereads\[0\].pass/],
      [{ cursor, rereads: [], setAside: [{ start: cursor, end: cursor }] }, /setAside\[0\]/],
      [{ cursor, setAside: [] }, /rereads" is not a list/],
    ] as const) {
      const store = new MemoryCheckpointStore({ version: 3, streams: { accepted_traffic: stream } });
      const error = await new CheckpointBook(store, new MemoryLogger()).load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(String(error)).toMatch(why);
      expect(String(error)).toMatch(/memory.*delete it/);
    }
    await expect(
      new CheckpointBook(
        new MemoryCheckpointStore({ version: 3, streams: { other: {} } }),
        new MemoryLogger(),
      ).load(),
    ).rejects.toThrow(/unknown stream "other"/);
  });

  it('coalesces concurrent commits into serialized writes that include every commit', async () => {
    const writes: unknown[] = [];
    let active = 0;
    let maxActive = 0;
    const slowStore: CheckpointStore = {
      load: () => Promise.resolve(undefined),
      save: async (doc) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        writes.push(structuredClone(doc));
        active--;
      },
      describe: () => 'slow',
      objects: new MemoryNamedObjects(),
    };
    const book = new CheckpointBook(slowStore, new MemoryLogger());
    await Promise.all([
      book.commit('accepted_traffic', { cursor: 1, rereads: [], setAside: [] }),
      book.commit('blocked_traffic', { cursor: 2, rereads: [], setAside: [] }),
      book.commit('policy_events', { cursor: 3, rereads: [], setAside: [] }),
      book.commit('accepted_traffic', { cursor: 4, rereads: [], setAside: [] }),
    ]);
    expect(maxActive).toBe(1);
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(writes.at(-1)).toMatchObject({
      streams: {
        accepted_traffic: { cursor: new Date(4).toISOString() },
        blocked_traffic: { cursor: new Date(2).toISOString() },
        policy_events: { cursor: new Date(3).toISOString() },
      },
    });
  });

  it('a commit made while a write is in flight resolves only after a later write that includes it', async () => {
    const writes: unknown[] = [];
    let release: (() => void) | undefined;
    const gatedStore: CheckpointStore = {
      load: () => Promise.resolve(undefined),
      save: async (doc) => {
        if (writes.length === 0) await new Promise<void>((r) => (release = r));
        writes.push(structuredClone(doc));
      },
      describe: () => 'gated',
      objects: new MemoryNamedObjects(),
    };
    const book = new CheckpointBook(gatedStore, new MemoryLogger());
    const first = book.commit('accepted_traffic', { cursor: 1, rereads: [], setAside: [] });
    await new Promise((r) => setImmediate(r));
    expect(release).toBeDefined();
    let secondDone = false;
    const second = book
      .commit('accepted_traffic', { cursor: 2, rereads: [], setAside: [] })
      .then(() => (secondDone = true));
    release?.();
    await first;
    await second;
    expect(secondDone).toBe(true);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatchObject({ streams: { accepted_traffic: { cursor: new Date(2).toISOString() } } });
  });
});
