/**
 * The simulator's switches for what the TMES documentation leaves open about reading pages:
 * empty pages that carry a token, token life and the answer to an expired token, handle-style
 * tokens, a rate limit, and the request counts a test compares collectors with. Over real
 * HTTP on 127.0.0.1, on a ManualClock.
 */
import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import type { TmesRecord } from '../simulator/dataset';
import { TmesSimulator, type TmesSimulatorOptions } from '../simulator/tmes-simulator';
import { canonical } from './helpers/late-traffic';
import { drain, httpGet, iso, logUrl, type RawResponse } from './helpers/simulator-http';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const WINDOW = { start: iso(NOW - 2 * HOUR), end: iso(NOW - HOUR), limit: '10' };
const RECORDS = 100;

interface Page {
  nextToken?: string;
  logs: TmesRecord[];
}

let clock: ManualClock;
let sim: TmesSimulator;

async function startWith(options: TmesSimulatorOptions): Promise<void> {
  await sim.stop();
  sim = new TmesSimulator({ clock, ...options });
  sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { accepted_traffic: RECORDS }, seed: 9 });
  await sim.start();
}

const get = (token?: string, params: Record<string, string> = WINDOW): Promise<RawResponse> =>
  httpGet(logUrl(sim.url, 'accepted_traffic', token === undefined ? params : { ...params, token }));
const pageOf = (res: RawResponse): Page => JSON.parse(res.text) as Page;
const keys = (records: readonly unknown[]): string[] => records.map(canonical);

beforeEach(async () => {
  clock = new ManualClock(NOW);
  sim = new TmesSimulator({ clock });
  await startWith({});
});

afterEach(async () => {
  await sim.stop();
});

describe('empty pages carrying a token', () => {
  it('answers some pages {"logs": [], "nextToken"} that continue at the same record', async () => {
    await startWith({ emptyPageRate: 0.3, seed: 5 });
    const result = await drain(sim.url, 'accepted_traffic', WINDOW);
    expect(result.statuses.every((status) => status === 200)).toBe(true);
    expect(result.pages).toBeGreaterThan(10);
    expect(sim.stats.emptyPages).toBe(result.pages - 10);
    expect(keys(result.records)).toEqual(keys(sim.records('accepted_traffic')));
  });

  it('replays the same empty pages for the same read and seed', async () => {
    await startWith({ emptyPageRate: 0.3, seed: 5 });
    const shape = async (): Promise<number[]> => {
      const sizes: number[] = [];
      let token: string | undefined;
      do {
        const page = pageOf(await get(token));
        sizes.push(page.logs.length);
        token = page.nextToken;
      } while (token !== undefined);
      return sizes;
    };
    const first = await shape();
    expect(first).toContain(0);
    expect(await shape()).toEqual(first);
  });

  it('can start a read with an empty page, and never empties an empty window (204)', async () => {
    await startWith({ emptyPageRate: 0.9, seed: 5 });
    const first = pageOf(await get());
    expect(first).toEqual({ nextToken: expect.any(String), logs: [] });
    const empty = await get(undefined, { start: iso(NOW - 30 * 60_000), end: iso(NOW) });
    expect(empty.status).toBe(204);
  });

  it('refuses a rate of 1 (the read would never end)', () => {
    expect(() => new TmesSimulator({ emptyPageRate: 1 })).toThrow(/emptyPageRate/);
  });
});

describe('token life', () => {
  const expiredAnswers: [TmesSimulatorOptions['expiredTokenAnswer'], number, string][] = [
    ['204', 204, ''],
    ['empty', 200, '{"logs":[]}'],
    ['400', 400, '{"code":"InvalidFormat","message":"Invalid request format."}'],
    [
      '401',
      401,
      '{"code":"AuthenticationMissingOrInvalid","message":"The credential is missing or invalid."}',
    ],
  ];

  it.each(expiredAnswers)('answers an expired token with %s', async (answer, status, body) => {
    await startWith({ tokenLifeMs: 20_000, expiredTokenAnswer: answer });
    const { nextToken } = pageOf(await get());
    clock.advance(20_000);
    expect((await get(nextToken)).status).toBe(200);
    clock.advance(1);
    const expired = await get(nextToken);
    expect([expired.status, expired.text]).toEqual([status, body]);
    expect(sim.stats.expiredTokens).toBe(1);
  });

  it('counts a life from when each token was issued', async () => {
    await startWith({ tokenLifeMs: 20_000 });
    let token = pageOf(await get()).nextToken;
    for (let page = 2; page <= 5; page++) {
      clock.advance(15_000);
      const res = await get(token);
      expect(res.status).toBe(200);
      token = pageOf(res).nextToken;
    }
  });

  it('never expires a token by default', async () => {
    const { nextToken } = pageOf(await get());
    clock.advance(100 * HOUR);
    expect((await get(nextToken)).status).toBe(200);
  });
});

describe('handle tokens', () => {
  beforeEach(async () => {
    await startWith({ tokenStyle: 'handle' });
  });

  it('sends the same token on every page of a read, a new one for a new read', async () => {
    const first = await drain(sim.url, 'accepted_traffic', WINDOW);
    expect(new Set(first.tokens).size).toBe(1);
    expect(first.tokens).toHaveLength(9);
    expect(first.tokens[0]).toMatch(/^(?=.*\+)(?=.*\/)(?=.*=)[A-Za-z0-9+/]+=*$/);
    expect(keys(first.records)).toEqual(keys(sim.records('accepted_traffic')));
    const second = await drain(sim.url, 'accepted_traffic', WINDOW);
    expect(second.tokens[0]).not.toBe(first.tokens[0]);
    expect(keys(second.records)).toEqual(keys(first.records));
  });

  it('issues the same handles for the same seed', async () => {
    const handles = async (): Promise<string[]> => (await drain(sim.url, 'accepted_traffic', WINDOW)).tokens;
    const first = await handles();
    await startWith({ tokenStyle: 'handle' });
    expect(await handles()).toEqual(first);
  });

  it('advances at every request: a retry after a lost answer gets the next page', async () => {
    const handle = pageOf(await get()).nextToken;
    sim.set({ faults: { rateDrop: 1 } });
    await expect(get(handle)).rejects.toThrow(/socket hang up|ECONNRESET/);
    sim.set({ faults: {} });
    const retried = pageOf(await get(handle));
    const stored = sim.records('accepted_traffic');
    // Page 2 (records 10-19) went down with the dropped answer; the client cannot tell.
    expect(keys(retried.logs)).toEqual(keys(stored.slice(20, 30)));
    expect(retried.nextToken).toBe(handle);
  });

  it('answers a retried last request 204, and a handle used on another query 400', async () => {
    const { tokens } = await drain(sim.url, 'accepted_traffic', WINDOW);
    const handle = tokens[0];
    expect((await get(handle)).status).toBe(204);
    const other = await get(handle, { ...WINDOW, start: iso(NOW - 3 * HOUR) });
    expect(other.status).toBe(400);
    expect((await get(pageOf(await get()).nextToken?.replace('+', 'A'))).status).toBe(400);
  });

  it('loops only when tokenLoop is asked: same handle and same records', async () => {
    const first = pageOf(await get());
    sim.tokenLoop(1);
    const looped = pageOf(await get(first.nextToken));
    const again = pageOf(await get(first.nextToken));
    expect(looped.nextToken).toBe(first.nextToken);
    expect(keys(again.logs)).toEqual(keys(looped.logs));
    expect(pageOf(await get(first.nextToken)).logs).not.toEqual(again.logs);
  });

  it('expires a handle left unused longer than tokenLifeMs', async () => {
    sim.set({ tokenLifeMs: 20_000, expiredTokenAnswer: '204' });
    const handle = pageOf(await get()).nextToken;
    clock.advance(15_000);
    expect((await get(handle)).status).toBe(200);
    clock.advance(15_000);
    expect((await get(handle)).status).toBe(200);
    clock.advance(20_001);
    expect((await get(handle)).status).toBe(204);
    expect(sim.stats.expiredTokens).toBe(1);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once the tenant bucket is empty, across streams', async () => {
    await startWith({ rateLimit: { requestsPerSecond: 2 } });
    expect((await get()).status).toBe(200);
    expect((await httpGet(logUrl(sim.url, 'policy_events'))).status).toBe(204);
    const limited = await get();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(JSON.parse(limited.text)).toEqual({ code: 'TooManyRequests', message: expect.any(String) });
    clock.advance(500);
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
    expect(sim.stats.rateLimited).toBe(2);
  });

  it('sends the configured Retry-After, and a new limit starts with a full bucket', async () => {
    await startWith({ rateLimit: { requestsPerSecond: 1, retryAfterSeconds: 30 } });
    await get();
    expect((await get()).headers['retry-after']).toBe('30');
    sim.set({ rateLimit: { requestsPerSecond: 1 } });
    expect((await get()).status).toBe(200);
    sim.set({ rateLimit: { requestsPerSecond: Number.POSITIVE_INFINITY } });
    for (let i = 0; i < 5; i++) expect((await get()).status).toBe(200);
  });
});

describe('request counts', () => {
  it('counts first pages and token pages per stream, whatever the answer', async () => {
    await startWith({ emptyPageRate: 0.2, seed: 3 });
    const result = await drain(sim.url, 'accepted_traffic', WINDOW);
    sim.set({ faults: { rate500: 1 } });
    await get();
    await httpGet(logUrl(sim.url, 'blocked_traffic', { token: 'x' }));
    expect(sim.stats.requestsByStream).toEqual({
      accepted_traffic: { withoutToken: 2, withToken: result.pages - 1 },
      blocked_traffic: { withoutToken: 0, withToken: 1 },
      policy_events: { withoutToken: 0, withToken: 0 },
    });
  });
});
