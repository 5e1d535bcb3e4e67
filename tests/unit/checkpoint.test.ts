import {
  ConfigurationError,
  MemoryCheckpointStore,
  MemoryLogger,
  type CheckpointStore,
} from '@sekoia/automation-sdk-shim';
import { CheckpointBook } from '../../trigger_fetch_new_logs/checkpoint';

describe('CheckpointBook', () => {
  it('round-trips cursors, windows in progress and edges (including unparsable times)', async () => {
    const store = new MemoryCheckpointStore();
    const book = new CheckpointBook(store, new MemoryLogger());
    await book.commit('accepted_traffic', {
      cursor: Date.UTC(2026, 0, 1),
      edge: [
        ['k1', Date.UTC(2026, 0, 1)],
        ['k2', Infinity],
      ],
      window: { start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 1, 1), delivered: ['a', 'b'] },
    });
    await book.commit('policy_events', { cursor: Date.UTC(2026, 0, 2), edge: [] });
    const loaded = await new CheckpointBook(store, new MemoryLogger()).load();
    expect(loaded.get('accepted_traffic')).toEqual({
      cursor: Date.UTC(2026, 0, 1),
      edge: [
        ['k1', Date.UTC(2026, 0, 1)],
        ['k2', Infinity],
      ],
      window: { start: Date.UTC(2026, 0, 1), end: Date.UTC(2026, 0, 1, 1), delivered: ['a', 'b'] },
    });
    expect(loaded.get('policy_events')).toEqual({ cursor: Date.UTC(2026, 0, 2), edge: [] });
    expect(loaded.get('blocked_traffic')).toBeUndefined();
    // A Python reader (downgrade) finds last_timestamp where it expects it.
    expect(store.document).toMatchObject({
      accepted_traffic: { last_timestamp: Date.UTC(2026, 0, 1) / 1000 },
    });
  });

  it("resumes from the Python Trend Micro module's context.json", async () => {
    const store = new MemoryCheckpointStore({
      accepted_traffic: { last_timestamp: 1_780_000_000, recent_pushed_events: [{ mailID: 'x' }] },
      blocked_traffic: { last_timestamp: 1_780_000_100 },
    });
    const logger = new MemoryLogger();
    const loaded = await new CheckpointBook(store, logger).load();
    expect(loaded.get('accepted_traffic')).toEqual({ cursor: 1_780_000_000_000, edge: [] });
    expect(loaded.get('blocked_traffic')).toEqual({ cursor: 1_780_000_100_000, edge: [] });
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
    };
    const book = new CheckpointBook(slowStore, new MemoryLogger());
    await Promise.all([
      book.commit('accepted_traffic', { cursor: 1, edge: [] }),
      book.commit('blocked_traffic', { cursor: 2, edge: [] }),
      book.commit('policy_events', { cursor: 3, edge: [] }),
      book.commit('accepted_traffic', { cursor: 4, edge: [] }),
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
    };
    const book = new CheckpointBook(gatedStore, new MemoryLogger());
    const first = book.commit('accepted_traffic', { cursor: 1, edge: [] });
    await new Promise((r) => setImmediate(r));
    expect(release).toBeDefined();
    let secondDone = false;
    const second = book.commit('accepted_traffic', { cursor: 2, edge: [] }).then(() => (secondDone = true));
    release?.();
    await first;
    await second;
    expect(secondDone).toBe(true);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toMatchObject({ streams: { accepted_traffic: { cursor: new Date(2).toISOString() } } });
  });
});
