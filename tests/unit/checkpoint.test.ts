import { ConfigurationError, type CheckpointStore } from '@sekoia/automation-sdk-shim';
import { MemoryCheckpointStore, MemoryLogger, MemoryNamedObjects } from '@sekoia/automation-sdk-shim/testing';
import { CheckpointBook, readCheckpoint } from '../../trigger_fetch_new_logs/checkpoint';

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
  });

  it('checks a version-3 head against schemas/checkpoint-head.schema.json, naming each field and the fix', async () => {
    const cursor = new Date(0).toISOString();
    const later = new Date(60_000).toISOString();
    for (const [stream, why] of [
      [
        { cursor, rereads: [], setAside: [], window: { start: cursor } },
        /"streams.accepted_traffic.window.end" is missing/,
      ],
      [
        { cursor, rereads: [{ start: cursor, end: cursor, pass: -1 }], setAside: [] },
        /"streams.accepted_traffic.rereads\[0\].pass" must be 0 or more/,
      ],
      [
        { cursor, rereads: [{ start: cursor, end: cursor, pass: 'one' }], setAside: [] },
        /rereads\[0\].pass" must be a whole number/,
      ],
      [
        { cursor, rereads: [], setAside: [{ start: cursor, end: cursor }] },
        /"streams.accepted_traffic.setAside\[0\].error" is missing/,
      ],
      [{ cursor, setAside: [] }, /"streams.accepted_traffic.rereads" is missing/],
      [{ cursor, rereads: {}, setAside: [] }, /"streams.accepted_traffic.rereads" must be a list/],
      [
        { cursor: 'yesterday', rereads: [], setAside: [] },
        /"streams.accepted_traffic.cursor" is not an ISO 8601 time/,
      ],
      [
        { cursor, rereads: [], setAside: [], widnow: {} },
        /"streams.accepted_traffic.widnow" is not a field of this document/,
      ],
      [
        { cursor, rereads: [], setAside: [], window: { start: later, end: cursor } },
        /"streams.accepted_traffic.window" ends before it starts/,
      ],
    ] as const) {
      const store = new MemoryCheckpointStore({ version: 3, streams: { accepted_traffic: stream } });
      const error = await new CheckpointBook(store, new MemoryLogger()).load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(String(error)).toMatch(why);
      expect(String(error)).toMatch(/checkpoint memory cannot be used.*delete it/);
    }
    await expect(
      new CheckpointBook(
        new MemoryCheckpointStore({ version: 3, streams: { other: {} } }),
        new MemoryLogger(),
      ).load(),
    ).rejects.toThrow(
      /"streams" names an unknown stream "other": the streams are "accepted_traffic", "blocked_traffic", "policy_events"/,
    );
    // Every problem at once, so a hand-edited file is fixed in one go.
    const many = await new CheckpointBook(
      new MemoryCheckpointStore({
        version: 3,
        streams: { accepted_traffic: { cursor: 5 }, policy_events: { cursor } },
      }),
      new MemoryLogger(),
    )
      .load()
      .catch((e: unknown) => e as ConfigurationError);
    expect((many as ConfigurationError).problems).toEqual(
      expect.arrayContaining([
        '"streams.accepted_traffic.cursor" must be a text',
        '"streams.accepted_traffic.rereads" is missing',
        '"streams.policy_events.setAside" is missing',
      ]),
    );
  });

  it('reads the head it writes with the schema (every field, including legacy last_timestamp)', async () => {
    const t = Date.UTC(2026, 0, 1);
    const book = new CheckpointBook(new MemoryCheckpointStore(), new MemoryLogger());
    await book.commit('blocked_traffic', {
      cursor: t,
      window: { start: t, end: t + 1 },
      rereads: [{ start: t - 2, end: t - 1, pass: 0 }],
      setAside: [{ start: t - 9, end: t - 8, error: 'x', attempts: 1, retryAt: t + 5 }],
    });
    expect(readCheckpoint(book.serialize(), 'here', new MemoryLogger()).get('blocked_traffic')?.cursor).toBe(
      t,
    );
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

  it('does not write a document equal to the one last written, and writes again after a failed save', async () => {
    const writes: unknown[] = [];
    let fail = false;
    const store: CheckpointStore = {
      load: () => Promise.resolve(undefined),
      save: (doc) => {
        if (fail) return Promise.reject(new Error('disk full'));
        writes.push(structuredClone(doc));
        return Promise.resolve();
      },
      describe: () => 'counting',
      objects: new MemoryNamedObjects(),
    };
    const book = new CheckpointBook(store, new MemoryLogger());
    const head = { cursor: 1, window: { start: 1, end: 5 }, rereads: [], setAside: [] };
    await book.commit('accepted_traffic', head);
    await book.commit('accepted_traffic', { ...head, window: { ...head.window } });
    expect(writes).toHaveLength(1);
    await book.commit('accepted_traffic', { ...head, cursor: 2 });
    expect(writes).toHaveLength(2);
    fail = true;
    await expect(book.commit('accepted_traffic', { ...head, cursor: 3 })).rejects.toThrow('disk full');
    fail = false;
    // The failed save may have left anything: the same document as before is written again.
    await book.commit('accepted_traffic', { ...head, cursor: 2 });
    expect(writes).toHaveLength(3);
    expect(writes[2]).toMatchObject({ streams: { accepted_traffic: { cursor: new Date(2).toISOString() } } });
  });
});
