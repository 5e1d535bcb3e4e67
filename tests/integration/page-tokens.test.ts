import { AuthenticationError, ResponseError, createHttpClient } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import { TmesClient } from '../../trigger_fetch_new_logs/tmes-client';
import type { WindowPage } from '../../trigger_fetch_new_logs/window-page';
import type { TokenPolicy } from '../../trigger_fetch_new_logs/window-read';
import { TokenApi, makeRecords, type TokenApiOptions } from '../helpers/token-api';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const WINDOW = { start: NOW - 3_600_000, end: NOW - 60_000 };
const PAGE = 10;
const stream = STREAMS.accepted_traffic;

interface Read {
  pages: WindowPage[];
  /** Ids of every record yielded, in order, across restarts. */
  ids: number[];
  api: TokenApi;
  logger: MemoryLogger;
}

/**
 * Reads one window through TmesClient.pages() against a TokenApi on 127.0.0.1. `pauseMs(i)`
 * is how long the consumer holds the generator after the i-th page (as the collector does
 * while it forwards a batch): simulated time, on the ManualClock both sides share.
 */
async function readWindow(
  api: Partial<TokenApiOptions> & { records: Record<string, unknown>[] },
  pauseMs: (page: number) => number = () => 0,
  tokenPolicy: Partial<TokenPolicy> = {},
): Promise<Read> {
  const clock = new ManualClock(NOW);
  const server = new TokenApi({ clock, ...api });
  const logger = new MemoryLogger();
  const baseUrl = await server.start();
  try {
    const client = new TmesClient({
      baseUrl,
      username: 'demo',
      apiKey: 'demo-api-key',
      http: createHttpClient({ timeoutMs: 2_000 }),
      clock,
      sleep: clock.sleep,
      logger,
      random: () => 0.5,
      tokenPolicy,
    });
    const pages: WindowPage[] = [];
    for await (const page of client.pages(stream, WINDOW, PAGE, new AbortController().signal)) {
      pages.push(page);
      clock.advance(pauseMs(pages.length));
    }
    const ids = pages.flatMap((p) => p.logs.map((r) => (r as { id: number }).id));
    return { pages, ids, api: server, logger };
  } finally {
    await server.stop();
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const distinct = (ids: number[]): number[] => [...new Set(ids)].sort((a, b) => a - b);

describe('page tokens, as Trend Micro documents them and as they fail', () => {
  it('an empty page with a nextToken goes on to the next page', async () => {
    const records = makeRecords(95, WINDOW.start);
    const read = await readWindow({ records, emptyPageEvery: 3 });
    expect(read.ids).toEqual(range(95));
    // Empty pages were really served: more requests than pages of records.
    expect(read.api.requests.length).toBeGreaterThan(10);
    expect(read.pages.every((p) => !p.restart)).toBe(true);
  });

  it.each([204, 'empty', 400, 401, 403] as const)(
    'a token that expired while the read was paused, answered %s: the read restarts, every record is yielded, no AuthenticationError',
    async (expiry) => {
      const records = makeRecords(60, WINDOW.start);
      // Token life 10 s; the consumer holds page 3 for 20 s (under the 30 s hold limit).
      const read = await readWindow({ records, tokenLifeMs: 10_000, expiry }, (page) =>
        page === 3 ? 20_000 : 0,
      );
      expect(distinct(read.ids)).toEqual(range(60));
      const restarts = read.pages.filter((p) => p.restart);
      expect(restarts).toHaveLength(1);
      const [restart] = restarts;
      if (restart === undefined) throw new Error('no restart');
      // The restarted read starts from the window's start: its first page is page 1 again.
      expect((restart.logs[0] as { id: number }).id).toBe(0);
      // After the restart, the pages up to the end are all there, in order.
      const after = read.pages.slice(read.pages.indexOf(restart));
      expect(after.flatMap((p) => p.logs.map((r) => (r as { id: number }).id))).toEqual(range(60));
      expect(read.api.requests.filter((r) => r.token === undefined)).toHaveLength(2);
      expect(read.logger.messages('warning').join('\n')).toMatch(/again from its start/);
    },
  );

  it('a token refused on every request: bounded restarts, then a ResponseError (the window is retried later)', async () => {
    const records = makeRecords(30, WINDOW.start);
    const attempt = readWindow({ records, refuseEveryToken: 401 }, () => 0, {
      maxRestartsWithoutProgress: 3,
    });
    await expect(attempt).rejects.toBeInstanceOf(ResponseError);
    await expect(attempt).rejects.not.toBeInstanceOf(AuthenticationError);
    await expect(attempt).rejects.toThrow(/restarted 4 times in a row without getting past page 2/);
  });

  it('a request without a token answered 401 is still an AuthenticationError', async () => {
    const records = makeRecords(30, WINDOW.start);
    await expect(readWindow({ records, apiKey: 'another-key' })).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('a handle token (the same string on every page, other records each time) reads every page', async () => {
    const records = makeRecords(95, WINDOW.start);
    const read = await readWindow({ records, tokens: 'handle' });
    expect(read.ids).toEqual(range(95));
    const tokens = new Set(read.api.requests.map((r) => r.token).filter((t) => t !== undefined));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toContain('+/');
  });

  it('the same token with the same page again is a loop: a ResponseError, not an endless read', async () => {
    const records = makeRecords(95, WINDOW.start);
    const attempt = readWindow({ records, loopFromPage: 3 });
    await expect(attempt).rejects.toBeInstanceOf(ResponseError);
    await expect(attempt).rejects.toThrow(/a nextToken it had already returned, with the same page/);
  });

  it('a token held longer than maxTokenHoldMs is not sent: the read restarts from the window start', async () => {
    const records = makeRecords(50, WINDOW.start);
    // No token life on the server: only the client's hold limit can cause the restart.
    const read = await readWindow({ records }, (page) => (page === 2 ? 45_000 : 0), {
      maxTokenHoldMs: 30_000,
    });
    expect(distinct(read.ids)).toEqual(range(50));
    const afterPause = read.api.requests[2];
    expect(afterPause?.token).toBeUndefined();
    expect(read.pages[2]).toMatchObject({ restart: true });
    expect(read.logger.messages('info').join('\n')).toMatch(/the page token was held 45 s/);
  });

  it('a token used right away and answered 204: the end is confirmed by two more reads, then the window ends', async () => {
    const records = makeRecords(30, WINDOW.start);
    // The last page carries a token (a full last page); the next request gets 204. Taken on
    // its own that 204 could also be a token that expired unseen: two more reads from the start
    // stop at the same page, which confirms the end.
    const read = await readWindow({ records, tokenOnLastPage: true }, () => 1_000);
    expect(distinct(read.ids)).toEqual(range(30));
    expect(read.pages.filter((p) => p.restart)).toHaveLength(2);
    expect(read.api.requests).toHaveLength(12);
  });

  it('a token that expires before the pause threshold (a server clock ahead, a short token life) loses nothing', async () => {
    const records = makeRecords(30, WINDOW.start);
    // 1 s after page 1 — under the 2 s pause threshold — its token has already expired (life
    // 500 ms): the 204 looks like the end of the window, but the rest of it is still there.
    const read = await readWindow({ records, tokenLifeMs: 500, expiry: 204 }, (page) =>
      page === 1 ? 1_000 : 0,
    );
    expect(distinct(read.ids)).toEqual(range(30));
    expect(read.pages.filter((p) => p.restart)).toHaveLength(1);
  });

  it('handle tokens with several empty pages in a row are not a loop', async () => {
    const records = makeRecords(30, WINDOW.start);
    const read = await readWindow({ records, tokens: 'handle', emptyPageEvery: 1 });
    expect(read.ids).toEqual(range(30));
  });

  it('keeps + / = in tokens intact on the wire (URL-encoded, decoded by the server)', async () => {
    const records = makeRecords(25, WINDOW.start);
    const read = await readWindow({ records });
    const sent = read.api.requests.map((r) => r.token).filter((t): t is string => t !== undefined);
    expect(sent.length).toBe(2);
    for (const token of sent) expect(token).toMatch(/^\+\/\+\/.*==$/);
  });
});
