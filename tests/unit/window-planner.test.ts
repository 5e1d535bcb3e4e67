import { API_HORIZON_MS, nextSpan, planWindow } from '../../trigger_fetch_new_logs/window-planner';

const MIN = 60_000;
const limits = { delayMs: MIN, spanMs: 15 * MIN, minWindowMs: 2_000, horizonMarginMs: 10 * MIN };
const now = Date.UTC(2026, 5, 1, 12, 0, 0);

describe('planWindow', () => {
  it('caps a backlog window at the span and does not mark it caught up', () => {
    const plan = planWindow({ cursor: now - 6 * 60 * MIN, rereads: [], setAside: [] }, now, limits);
    expect(plan.window).toEqual({
      start: now - 360 * MIN,
      end: now - 345 * MIN,
      caughtUp: false,
      resumed: false,
    });
    expect(plan.clampedMs).toBe(0);
  });

  it('ends a recent window at now - delay and marks it caught up', () => {
    const plan = planWindow({ cursor: now - 5 * MIN, rereads: [], setAside: [] }, now, limits);
    expect(plan.window).toEqual({ start: now - 5 * MIN, end: now - MIN, caughtUp: true, resumed: false });
  });

  it('waits when less than the minimum window is available', () => {
    expect(
      planWindow({ cursor: now - MIN - 1_000, rereads: [], setAside: [] }, now, limits).window,
    ).toBeUndefined();
    expect(planWindow({ cursor: now, rereads: [], setAside: [] }, now, limits).window).toBeUndefined();
  });

  it('resumes a saved window as it was', () => {
    const window = { start: now - 30 * MIN, end: now - 20 * MIN };
    const plan = planWindow({ cursor: now - 30 * MIN, rereads: [], setAside: [], window }, now, limits);
    expect(plan.window).toEqual({ start: window.start, end: window.end, caughtUp: false, resumed: true });
  });

  it('clamps a cursor older than the 72-hour horizon and reports what was lost', () => {
    const cursor = now - API_HORIZON_MS - 60 * MIN;
    const plan = planWindow({ cursor, rereads: [], setAside: [] }, now, limits);
    const horizon = now - API_HORIZON_MS + limits.horizonMarginMs;
    expect(plan.clampedMs).toBe(horizon - cursor);
    expect(plan.checkpoint).toEqual({ cursor: horizon, rereads: [], setAside: [] });
    expect(plan.window?.start).toBe(horizon);
  });

  it('clamps a saved window that fell out of the horizon during a long outage', () => {
    const start = now - API_HORIZON_MS - MIN;
    const plan = planWindow(
      { cursor: start, rereads: [], setAside: [], window: { start, end: start + MIN } },
      now,
      limits,
    );
    expect(plan.clampedMs).toBeGreaterThan(0);
    expect(plan.window?.resumed).toBe(false);
  });
});

describe('planWindow near the horizon', () => {
  it('keeps the half-read window (its delivered identities are in the ledger) whose start fell out of the horizon', () => {
    const horizon = now - API_HORIZON_MS + limits.horizonMarginMs;
    const saved = { start: horizon - 5 * MIN, end: horizon + 20 * MIN };
    const plan = planWindow({ cursor: saved.start, rereads: [], setAside: [], window: saved }, now, limits);
    expect(plan.clampedMs).toBe(5 * MIN);
    expect(plan.window).toEqual({ start: horizon, end: saved.end, caughtUp: false, resumed: true });
    expect(plan.checkpoint.window).toEqual({ start: horizon, end: saved.end });
  });
});

describe('nextSpan', () => {
  it('shrinks dense windows, grows sparse ones, within bounds', () => {
    expect(nextSpan(60_000, 40_000, 10_000, 2_000, 3_600_000)).toBe(15_000);
    expect(nextSpan(60_000, 100, 10_000, 2_000, 3_600_000)).toBe(120_000);
    expect(nextSpan(3_600_000, 0, 10_000, 2_000, 3_600_000)).toBe(3_600_000);
    expect(nextSpan(2_000, 1_000_000, 10_000, 2_000, 3_600_000)).toBe(2_000);
  });
});
