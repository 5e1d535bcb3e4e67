import { Agent, get } from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ManualClock } from '@sekoia/automation-sdk-shim/testing';
import { STREAMS, type TmesRecord, generateDataset } from '../simulator/dataset';
import { TmesSimulator } from '../simulator/tmes-simulator';
import { DEMO_AUTH, basicAuth, drain, httpGet, iso, logUrl, type Stream } from './helpers/simulator-http';

const HOUR = 3600_000;
const NOW = Date.UTC(2026, 0, 10, 12, 0, 0);
const SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const keyOf = (record: unknown): string => JSON.stringify(record);
const sortedKeys = (records: readonly unknown[]): string[] => records.map(keyOf).sort();
const timeOf = (record: TmesRecord): number => Date.parse(String(record.genTime));
const at = (ms: number, extra: TmesRecord = {}): TmesRecord => ({
  genTime: iso(ms),
  mailID: `m-${ms}`,
  ...extra,
});

let clock: ManualClock;
let sim: TmesSimulator;

beforeEach(async () => {
  clock = new ManualClock(NOW);
  sim = new TmesSimulator({ clock });
  await sim.start();
});

afterEach(async () => {
  await sim.stop();
});

describe('generateDataset', () => {
  const options = {
    start: NOW - 2 * HOUR,
    end: NOW - HOUR,
    counts: { accepted_traffic: 600, blocked_traffic: 200, policy_events: 300 },
    seed: 42,
  };

  it('is deterministic for a seed and different for another seed', () => {
    expect(generateDataset(options)).toEqual(generateDataset(options));
    expect(generateDataset({ ...options, seed: 43 })).not.toEqual(generateDataset(options));
  });

  it('keeps one stream identical when another stream count changes', () => {
    const more = generateDataset({ ...options, counts: { ...options.counts, blocked_traffic: 500 } });
    expect(more.accepted_traffic).toEqual(generateDataset(options).accepted_traffic);
  });

  it('produces exactly the requested counts, sorted by genTime inside [start, end]', () => {
    const dataset = generateDataset(options);
    for (const stream of STREAMS) {
      const records = dataset[stream];
      expect(records).toHaveLength(options.counts[stream]);
      const times = records.map(timeOf);
      expect(times.every((t) => t >= options.start && t <= options.end)).toBe(true);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('writes accepted traffic as one record per recipient sharing the message fields', () => {
    const byMail = new Map<string, TmesRecord[]>();
    for (const record of generateDataset(options).accepted_traffic) {
      const id = String(record.mailID);
      byMail.set(id, [...(byMail.get(id) ?? []), record]);
    }
    const groups = [...byMail.values()];
    expect(groups.some((group) => group.length > 1)).toBe(true);
    for (const group of groups) {
      const first = group[0]!;
      expect(new Set(group.map((r) => r.recipient)).size).toBe(group.length);
      for (const record of group) {
        expect(record).toMatchObject({
          messageID: first.messageID,
          subject: first.subject,
          sender: first.sender,
          direction: first.direction,
        });
        expect(Math.abs(timeOf(record) - timeOf(first))).toBeLessThanOrEqual(1000);
        expect(record.mailID).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(record.messageID).toMatch(/^<.+@.+>$/);
        expect(Array.isArray(record.headerTo)).toBe(true);
        expect(typeof record.action).toBe('string');
        expect(record).not.toHaveProperty('reason');
      }
    }
  });

  it('mixes second and millisecond genTime precision as msPrecision asks', () => {
    const genTimes = (msPrecision: number): string[] =>
      generateDataset({ ...options, msPrecision }).accepted_traffic.map((r) => String(r.genTime));
    const mixed = genTimes(0.5);
    expect(mixed.some((t) => SECONDS.test(t))).toBe(true);
    expect(mixed.some((t) => MILLIS.test(t))).toBe(true);
    expect(genTimes(0).every((t) => SECONDS.test(t))).toBe(true);
    expect(genTimes(1).every((t) => MILLIS.test(t))).toBe(true);
  });

  it('varies actions, attachments, sender IPs and delivery targets like real traffic', () => {
    const records = generateDataset({ ...options, counts: { accepted_traffic: 3000 } }).accepted_traffic;
    const actions = new Set(records.map((r) => r.action));
    expect(actions.size).toBeGreaterThanOrEqual(6);
    expect(actions.has('Delivered') && actions.has('Bounced') && actions.has('Quarantined')).toBe(true);
    expect(records.some((r) => !('attachments' in r))).toBe(true);
    expect(records.some((r) => Array.isArray(r.attachments) && r.attachments.length === 0)).toBe(true);
    const attachment = records.flatMap((r) =>
      Array.isArray(r.attachments) ? (r.attachments as TmesRecord[]) : [],
    )[0];
    expect(attachment).toEqual({
      fileName: expect.any(String),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(records.some((r) => String(r.senderIP).includes(':'))).toBe(true);
    expect(records.some((r) => /^\d+\.\d+\.\d+\.\d+$/.test(String(r.senderIP)))).toBe(true);
    expect(records.some((r) => r.deliveredTo === 'none')).toBe(true);
    expect(records.some((r) => /^\S+\[[\d.]+\]:25$/.test(String(r.deliveredTo)))).toBe(true);
    expect(records.some((r) => Array.isArray(r.embeddedUrls))).toBe(true);
  });

  it('writes blocked traffic with a reason and no action', () => {
    for (const record of generateDataset(options).blocked_traffic) {
      expect(typeof record.reason).toBe('string');
      expect(record).not.toHaveProperty('action');
      expect(typeof record.mailID).toBe('string');
    }
  });

  it('writes policy events without mailID, with ms genTime and details as a JSON string', () => {
    const events = generateDataset(options).policy_events;
    const withoutDetails = new Set(['Domain-based Authentication', 'Scan Exception']);
    for (const event of events) {
      expect(event).not.toHaveProperty('mailID');
      expect(event.genTime).toMatch(MILLIS);
      expect(event.timestamp).toMatch(MILLIS);
      expect(Array.isArray(event.recipients)).toBe(true);
      expect(typeof event.eventSubtype).toBe('string');
      if (withoutDetails.has(String(event.eventType))) expect(event).not.toHaveProperty('details');
      if ('details' in event) {
        expect(typeof event.details).toBe('string');
        const details = JSON.parse(String(event.details)) as Record<string, unknown>;
        expect(
          Object.keys(details).some((k) => ['fileInfo', 'urlInfo', 'spamReport', 'threatNames'].includes(k)),
        ).toBe(true);
      }
    }
    expect(events.some((e) => 'details' in e)).toBe(true);
    expect(events.some((e) => e.eventType === 'Domain-based Authentication')).toBe(true);
  });
});

describe('pagination', () => {
  const start = NOW - 2 * HOUR;
  const end = NOW - HOUR;
  const window = { start: iso(start), end: iso(end) };

  beforeEach(() => {
    sim.generate({ start, end, counts: { accepted_traffic: 1200, policy_events: 150 }, seed: 3 });
  });

  it.each([
    ['asc', 500],
    ['asc', 37],
    ['desc', 500],
    ['desc', 37],
    ['random', 500],
    ['random', 37],
  ] as const)('serves every record exactly once in %s order with limit %i', async (order, limit) => {
    sim.set({ order });
    const result = await drain(sim.url, 'accepted_traffic', { ...window, limit: String(limit) });
    expect(result.pages).toBe(Math.ceil(1200 / limit));
    expect(new Set(result.records.map(keyOf)).size).toBe(1200);
    expect(sortedKeys(result.records)).toEqual(sortedKeys(sim.visible('accepted_traffic', end)));
    const times = result.records.map(timeOf);
    const ascending = [...times].sort((a, b) => a - b);
    if (order === 'asc') expect(times).toEqual(ascending);
    if (order === 'desc') expect(times).toEqual([...ascending].reverse());
    if (order === 'random') expect(times).not.toEqual(ascending);
  });

  it('shuffles a window the same way on every read', async () => {
    sim.set({ order: 'random' });
    const first = await drain(sim.url, 'accepted_traffic', { ...window, limit: '37' });
    const second = await drain(sim.url, 'accepted_traffic', { ...window, limit: '37' });
    expect(second.records.map(keyOf)).toEqual(first.records.map(keyOf));
  });

  it('uses 500 as the default limit and clamps a larger limit to pageCap', async () => {
    const byDefault = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', window))).text) as {
      logs: unknown[];
    };
    expect(byDefault.logs).toHaveLength(500);
    sim.set({ pageCap: 100 });
    const clamped = await httpGet(logUrl(sim.url, 'accepted_traffic', { ...window, limit: '1000' }));
    expect((JSON.parse(clamped.text) as { logs: unknown[] }).logs).toHaveLength(100);
  });

  it('keeps a window stable while the clock moves between pages', async () => {
    const live = { start: iso(NOW - 10 * 60_000), end: iso(NOW + 10 * 60_000) };
    sim.add(
      'blocked_traffic',
      Array.from({ length: 40 }, (_, i) => at(NOW - 10 * 60_000 + i * 30_000)),
    );
    const first = await httpGet(logUrl(sim.url, 'blocked_traffic', { ...live, limit: '10' }));
    const page = JSON.parse(first.text) as { nextToken: string; logs: TmesRecord[] };
    clock.advance(5 * 60_000);
    const rest = await drain(sim.url, 'blocked_traffic', { ...live, limit: '10', token: page.nextToken });
    // The window was frozen at the first page: only records already indexed then.
    expect(page.logs.length + rest.records.length).toBe(21);
  });

  it('filters policy events on the event parameter', async () => {
    const result = await drain(sim.url, 'policy_events', { ...window, event: 'anti_spoof', limit: '7' });
    const expected = sim
      .visible('policy_events', end)
      .filter((e) => e.eventType === 'Domain-based Authentication');
    expect(expected.length).toBeGreaterThan(0);
    expect(sortedKeys(result.records)).toEqual(sortedKeys(expected));
  });

  it('filters mail tracking on direction', async () => {
    const result = await drain(sim.url, 'accepted_traffic', { ...window, direction: 'out' });
    const expected = sim.visible('accepted_traffic', end).filter((r) => r.direction === 'out');
    expect(expected.length).toBeGreaterThan(0);
    expect(sortedKeys(result.records)).toEqual(sortedKeys(expected));
  });
});

describe('windows', () => {
  it('answers 204 with an empty body for an empty window', async () => {
    sim.add('accepted_traffic', [at(NOW - HOUR)]);
    const res = await httpGet(
      logUrl(sim.url, 'accepted_traffic', { start: iso(NOW - 30 * 60_000), end: iso(NOW) }),
    );
    expect(res.status).toBe(204);
    expect(res.body).toHaveLength(0);
  });

  it('answers 204 to a token past the end (tokenOnFullLastPage)', async () => {
    sim.set({ tokenOnFullLastPage: true });
    sim.add(
      'accepted_traffic',
      Array.from({ length: 74 }, (_, i) => at(NOW - HOUR + i * 1000)),
    );
    const result = await drain(sim.url, 'accepted_traffic', {
      start: iso(NOW - HOUR),
      end: iso(NOW),
      limit: '37',
    });
    expect(result.statuses).toEqual([200, 200, 204]);
    expect(result.records).toHaveLength(74);
  });

  it('filters on genTime with both bounds inclusive, to the millisecond', async () => {
    const t1 = Date.UTC(2026, 0, 10, 10, 0, 0);
    const t2 = Date.UTC(2026, 0, 10, 10, 5, 0);
    const records = [
      at(t1 - 1),
      { genTime: '2026-01-10T10:00:00Z', mailID: 'first-second' },
      at(t1 + 500),
      at(t2),
      at(t2 + 1),
    ];
    sim.add('accepted_traffic', records);
    const result = await drain(sim.url, 'accepted_traffic', { start: '2026-01-10T10:00:00Z', end: iso(t2) });
    expect(result.records).toEqual([records[1], records[2], records[3]]);
  });

  it('never serves records older than the 72-hour horizon', async () => {
    const horizon = NOW - 72 * HOUR;
    sim.add('accepted_traffic', [at(horizon - 1000), at(horizon), at(horizon + 1000)]);
    const result = await drain(sim.url, 'accepted_traffic', { start: iso(NOW - 80 * HOUR), end: iso(NOW) });
    expect(result.records.map(timeOf)).toEqual([horizon, horizon + 1000]);
    clock.advance(500);
    const later = await drain(sim.url, 'accepted_traffic', { start: iso(NOW - 80 * HOUR), end: iso(NOW) });
    expect(later.records.map(timeOf)).toEqual([horizon + 1000]);
  });

  it('serves a record only once it is visible (future and late-indexed records)', async () => {
    sim.set({ visibilityDelayMs: 60_000 });
    sim.add('policy_events', [at(NOW - 90_000), at(NOW - 30_000), at(NOW + 5 * 60_000)]);
    const window = { start: iso(NOW - HOUR), end: iso(NOW + HOUR) };
    expect((await drain(sim.url, 'policy_events', window)).records.map(timeOf)).toEqual([NOW - 90_000]);
    expect(sim.visible('policy_events', NOW + HOUR)).toHaveLength(1);
    clock.advance(60_000);
    expect((await drain(sim.url, 'policy_events', window)).records).toHaveLength(2);
    clock.advance(10 * 60_000);
    expect((await drain(sim.url, 'policy_events', window)).records).toHaveLength(3);
    expect(sim.visible('policy_events', NOW + HOUR)).toHaveLength(3);
    expect(sim.visible('policy_events', NOW - 60_000)).toHaveLength(1);
  });

  it('applies the documented 5-minute defaults when start or end is missing', async () => {
    sim.add('blocked_traffic', [at(NOW - 6 * 60_000), at(NOW - 4 * 60_000), at(NOW - 2 * 60_000)]);
    const none = await drain(sim.url, 'blocked_traffic', {});
    expect(none.records.map(timeOf)).toEqual([NOW - 4 * 60_000, NOW - 2 * 60_000]);
    const onlyStart = await drain(sim.url, 'blocked_traffic', { start: iso(NOW - 7.5 * 60_000) });
    expect(onlyStart.records.map(timeOf)).toEqual([NOW - 6 * 60_000, NOW - 4 * 60_000]);
    const onlyEnd = await drain(sim.url, 'blocked_traffic', { end: iso(NOW - 3 * 60_000) });
    expect(onlyEnd.records.map(timeOf)).toEqual([NOW - 6 * 60_000, NOW - 4 * 60_000]);
  });

  it('reports the simulated time in the Date header', async () => {
    const res = await httpGet(logUrl(sim.url, 'accepted_traffic', {}));
    expect(Date.parse(String(res.headers.date))).toBe(NOW);
  });
});

describe('tokens', () => {
  const window = { start: iso(NOW - 2 * HOUR), end: iso(NOW - HOUR), limit: '10' };

  beforeEach(() => {
    sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { accepted_traffic: 100 }, seed: 9 });
  });

  it('always contain +, / and =', async () => {
    const { tokens } = await drain(sim.url, 'accepted_traffic', { ...window, limit: '3' });
    expect(tokens.length).toBe(33);
    for (const token of tokens) expect(token).toMatch(/^(?=.*\+)(?=.*\/)(?=.*=)[A-Za-z0-9+/]+=*$/);
  });

  it('refuses a token pasted raw into the URL (+ becomes a space)', async () => {
    const first = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', window))).text) as {
      nextToken: string;
    };
    const raw = await httpGet(`${logUrl(sim.url, 'accepted_traffic', window)}&token=${first.nextToken}`);
    expect(raw.status).toBe(400);
    expect(JSON.parse(raw.text)).toEqual({ code: 'InvalidFormat', message: expect.any(String) });
  });

  it('accepts a token URL-encoded once more than needed', async () => {
    const first = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', window))).text) as {
      nextToken: string;
    };
    const proper = await httpGet(logUrl(sim.url, 'accepted_traffic', { ...window, token: first.nextToken }));
    const encoded = encodeURIComponent(first.nextToken);
    const twice = await httpGet(logUrl(sim.url, 'accepted_traffic', { ...window, token: encoded }));
    expect(proper.status).toBe(200);
    expect(twice.text).toBe(proper.text);
  });

  it('binds a token to its query: another window, type or an invented token gets 400', async () => {
    const first = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', window))).text) as {
      nextToken: string;
    };
    const token = first.nextToken;
    const otherWindow = { ...window, start: iso(NOW - 3 * HOUR), token };
    const attempts = [
      logUrl(sim.url, 'accepted_traffic', otherWindow),
      logUrl(sim.url, 'blocked_traffic', { ...window, token }),
      logUrl(sim.url, 'accepted_traffic', { ...window, token: 'DKxIuQeL7Nq3aNgQtaaH2w==' }),
    ];
    for (const url of attempts) expect((await httpGet(url)).status).toBe(400);
    // Changing only the page size is fine: the token is a position in the same window.
    expect(
      (await httpGet(logUrl(sim.url, 'accepted_traffic', { ...window, limit: '20', token }))).status,
    ).toBe(200);
  });

  it('tokenLoop answers with the request token as nextToken', async () => {
    const first = JSON.parse((await httpGet(logUrl(sim.url, 'accepted_traffic', window))).text) as {
      nextToken: string;
      logs: unknown[];
    };
    sim.tokenLoop(2);
    const url = logUrl(sim.url, 'accepted_traffic', { ...window, token: first.nextToken });
    const looped = [await httpGet(url), await httpGet(url), await httpGet(url)].map(
      (res) => JSON.parse(res.text) as { nextToken: string; logs: unknown[] },
    );
    expect(looped[0]!.nextToken).toBe(first.nextToken);
    expect(looped[1]!.nextToken).toBe(first.nextToken);
    expect(looped[2]!.nextToken).not.toBe(first.nextToken);
    expect(looped[0]!.logs).toEqual(looped[2]!.logs);
  });
});

describe('errors', () => {
  const json = (text: string): unknown => JSON.parse(text);

  it('answers 401 AuthenticationMissingOrInvalid without echoing the credentials', async () => {
    const missing = await httpGet(logUrl(sim.url, 'accepted_traffic'), {});
    const wrong = await httpGet(logUrl(sim.url, 'accepted_traffic'), basicAuth('demo', 'wrong-key-123'));
    for (const res of [missing, wrong]) {
      expect(res.status).toBe(401);
      expect(json(res.text)).toEqual({ code: 'AuthenticationMissingOrInvalid', message: expect.any(String) });
      expect(res.text).not.toContain('wrong-key-123');
      expect(res.text).not.toContain('demo-api-key');
    }
    sim.set({ username: 'acme', apiKey: 'k' });
    expect((await httpGet(logUrl(sim.url, 'accepted_traffic'), basicAuth('acme', 'k'))).status).toBe(204);
    expect((await httpGet(logUrl(sim.url, 'accepted_traffic'), DEMO_AUTH)).status).toBe(401);
  });

  it('answers 404 ResourceNotAvailable when Log Retrieval is disabled', async () => {
    sim.set({ logRetrieval: false });
    for (const stream of ['accepted_traffic', 'policy_events'] as const) {
      const res = await httpGet(logUrl(sim.url, stream));
      expect(res.status).toBe(404);
      expect(json(res.text)).toEqual({
        code: 'ResourceNotAvailable',
        message: expect.stringContaining('demo'),
      });
    }
  });

  it('answers a plain 404 on an unknown path', async () => {
    const res = await httpGet(`${sim.url}/api/v1/log/auditlog`);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toBe('Not Found');
  });

  it('answers 400 InvalidMethod to anything but GET', async () => {
    const res = await httpGet(logUrl(sim.url, 'accepted_traffic'), DEMO_AUTH, 'POST');
    expect(res.status).toBe(400);
    expect(json(res.text)).toEqual({
      code: 'InvalidMethod',
      message: 'The URL does not support the POST method.',
    });
  });

  it.each([
    ['a missing type', `/api/v1/log/mailtrackinglog?start=2026-01-10T10:00:00Z`, 'InvalidFormat'],
    ['an unknown type', `/api/v1/log/mailtrackinglog?type=policy_events`, 'InvalidFormat'],
    ['a start in words', `/api/v1/log/policyeventlog?start=yesterday`, 'IllegalCharacter'],
    ['a raw + offset', `/api/v1/log/policyeventlog?start=2026-01-10T10:00:00+01:00`, 'IllegalCharacter'],
    ['a month 13', `/api/v1/log/policyeventlog?start=2026-13-10T10:00:00Z`, 'InvalidFormat'],
    ['February 30', `/api/v1/log/policyeventlog?start=2026-02-30T10:00:00Z`, 'InvalidFormat'],
    ['no time zone', `/api/v1/log/policyeventlog?start=2026-01-10T10:00:00`, 'InvalidFormat'],
    [
      'end before start',
      `/api/v1/log/policyeventlog?start=2026-01-10T10:00:00Z&end=2026-01-10T09:59:59.999Z`,
      'InvalidFormat',
    ],
    ['a zero limit', `/api/v1/log/policyeventlog?limit=0`, 'InvalidFormat'],
    ['a text limit', `/api/v1/log/policyeventlog?limit=all`, 'InvalidFormat'],
    ['an unknown event', `/api/v1/log/policyeventlog?event=audit`, 'InvalidFormat'],
    [
      'an unknown direction',
      `/api/v1/log/mailtrackinglog?type=accepted_traffic&direction=both`,
      'InvalidFormat',
    ],
  ])('answers 400 to %s', async (_label, path, code) => {
    const res = await httpGet(`${sim.url}${path}`);
    expect(res.status).toBe(400);
    expect(json(res.text)).toEqual({ code, message: expect.any(String) });
  });

  it('accepts second and millisecond precision bounds', async () => {
    const path = `/api/v1/log/policyeventlog?start=2016-07-22T01:51:31Z&end=2016-07-22T01:51:31.001Z`;
    expect((await httpGet(`${sim.url}${path}`)).status).toBe(204);
  });
});

describe('faults', () => {
  const window = { start: iso(NOW - 2 * HOUR), end: iso(NOW - HOUR), limit: '50' };
  const pageUrl = (): string => logUrl(sim.url, 'accepted_traffic', window);

  beforeEach(() => {
    sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { accepted_traffic: 200 }, seed: 5 });
  });

  it('429 carries Retry-After and a JSON body', async () => {
    sim.set({ faults: { rate429: 1, retryAfterSeconds: 7 } });
    const res = await httpGet(pageUrl());
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(JSON.parse(res.text)).toEqual({ code: 'TooManyRequests', message: expect.any(String) });
  });

  it('500 has the documented InternalServerError body', async () => {
    sim.set({ faults: { rate500: 1 } });
    const res = await httpGet(pageUrl());
    expect(res.status).toBe(500);
    expect(JSON.parse(res.text)).toEqual({ code: 'InternalServerError', message: 'Internal server error.' });
  });

  it('drops the connection without an answer', async () => {
    sim.set({ faults: { rateDrop: 1 } });
    await expect(httpGet(pageUrl())).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(sim.stats.dropped).toBe(1);
  });

  it('answers an HTML 502 page', async () => {
    sim.set({ faults: { rateHtml502: 1 } });
    const res = await httpGet(pageUrl(), { ...DEMO_AUTH, 'Accept-Encoding': 'gzip' });
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('text/html');
    expect(res.text).toContain('<h1>502 Bad Gateway</h1>');
  });

  it('answers 200 with half of the JSON page', async () => {
    const whole = await httpGet(pageUrl());
    sim.set({ faults: { rateTruncated: 1 } });
    const cut = await httpGet(pageUrl());
    expect(cut.status).toBe(200);
    expect(cut.body.length).toBe(Math.floor(whole.body.length / 2));
    expect(whole.text.startsWith(cut.text)).toBe(true);
    expect(() => {
      JSON.parse(cut.text);
    }).toThrow(SyntaxError);
  });

  it('draws faults from a seed: the same seed replays the same sequence', async () => {
    const statuses = async (): Promise<number[]> => {
      sim.set({ faults: { rate429: 0.2, rate500: 0.2, rateHtml502: 0.2, seed: 11 } });
      const out: number[] = [];
      for (let i = 0; i < 30; i++) out.push((await httpGet(pageUrl())).status);
      return out;
    };
    const first = await statuses();
    expect(await statuses()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500, 502]));
  });

  it('failNext takes precedence over random faults, in call order', async () => {
    sim.set({ faults: { rate500: 1 } });
    sim.failNext(2, { status: 503, body: '{"code":"Busy"}', headers: { 'Retry-After': '3' } });
    sim.failNext(1, { status: 403, body: '{"code":"AuthorizationRequestDenied","message":"no"}' });
    sim.failNext(1, { status: 0, destroy: true });
    const first = await httpGet(pageUrl());
    expect([first.status, first.headers['retry-after'], first.text]).toEqual([503, '3', '{"code":"Busy"}']);
    expect((await httpGet(pageUrl())).status).toBe(503);
    expect((await httpGet(pageUrl())).status).toBe(403);
    await expect(httpGet(pageUrl())).rejects.toThrow();
    expect((await httpGet(pageUrl())).status).toBe(500);
  });

  it('serves stable malformed variants with a valid genTime', async () => {
    sim.set({ malformedRate: 1 });
    const first = await drain(sim.url, 'accepted_traffic', window);
    const again = await drain(sim.url, 'accepted_traffic', window);
    expect(again.records).toEqual(first.records);
    const stored = sim.records('accepted_traffic');
    first.records.forEach((record, i) => {
      expect(record).not.toEqual(stored[i]);
      expect(record.genTime).toBe(stored[i]!.genTime);
    });
    expect(
      first.records.some((r) => r.size === 'big' || r.recipient === null || typeof r.headerTo === 'string'),
    ).toBe(true);
    sim.set({ malformedRate: 0.25 });
    const some = await drain(sim.url, 'accepted_traffic', window);
    const changed = some.records.filter((record, i) => keyOf(record) !== keyOf(stored[i])).length;
    expect(changed).toBeGreaterThan(20);
    expect(changed).toBeLessThan(80);
    expect(sortedKeys(sim.visible('accepted_traffic', NOW))).toEqual(sortedKeys(some.records));
  });

  it('malforms policy events details into a broken JSON string', async () => {
    sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { policy_events: 200 }, seed: 5 });
    sim.set({ malformedRate: 1 });
    const { records } = await drain(sim.url, 'policy_events', { start: window.start, end: window.end });
    expect(records.some((r) => r.details === '{not json')).toBe(true);
    expect(records.every((r) => typeof r.genTime === 'string')).toBe(true);
  });
});

describe('transport', () => {
  it('gzips the body when the client accepts gzip', async () => {
    sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { blocked_traffic: 300 }, seed: 1 });
    const url = logUrl(sim.url, 'blocked_traffic', { start: iso(NOW - 2 * HOUR), end: iso(NOW) });
    const plain = await httpGet(url);
    const zipped = await httpGet(url, { ...DEMO_AUTH, 'Accept-Encoding': 'gzip, deflate' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.text);
  });

  it('counts requests (per stream, first and token pages), pages, records and statuses', async () => {
    sim.generate({ start: NOW - 2 * HOUR, end: NOW - HOUR, counts: { accepted_traffic: 120 }, seed: 1 });
    await drain(sim.url, 'accepted_traffic', { start: iso(NOW - 2 * HOUR), end: iso(NOW), limit: '50' });
    await httpGet(logUrl(sim.url, 'policy_events'));
    await httpGet(logUrl(sim.url, 'policy_events'), {});
    expect(sim.stats).toEqual({
      requests: 5,
      requestsByStream: {
        accepted_traffic: { withoutToken: 1, withToken: 2 },
        blocked_traffic: { withoutToken: 0, withToken: 0 },
        policy_events: { withoutToken: 2, withToken: 0 },
      },
      pages: 3,
      served: { accepted_traffic: 120, blocked_traffic: 0, policy_events: 0 },
      statuses: { 200: 3, 204: 1, 401: 1 },
      dropped: 0,
      emptyPages: 0,
      expiredTokens: 0,
      rateLimited: 0,
    });
  });

  it('closes idle keep-alive connections on stop and reports the URL', async () => {
    const other = new TmesSimulator({ clock });
    const agent = new Agent({ keepAlive: true });
    try {
      const url = await other.start();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(other.url).toBe(url);
      const socket = await new Promise<Socket>((resolve, reject) => {
        get(`${url}/nothing`, { agent }, (res) => {
          const { socket } = res;
          res.resume();
          res.on('end', () => {
            resolve(socket);
          });
        }).on('error', reject);
      });
      // The idle keep-alive socket is closed by stop(), not left to time out.
      const closed = new Promise<void>((resolve) =>
        socket.once('close', () => {
          resolve();
        }),
      );
      await other.stop();
      await closed;
      await expect(httpGet(`${url}/nothing`)).rejects.toThrow(/ECONNREFUSED|ECONNRESET/);
    } finally {
      await other.stop();
      agent.destroy();
    }
  });

  it('refuses records without a valid genTime, naming the fix', () => {
    expect(() => {
      sim.add('accepted_traffic', [{ genTime: 'yesterday' }]);
    }).toThrow(/genTime/);
  });

  it('keeps records sorted when older records are added later', async () => {
    sim.add('accepted_traffic', [at(NOW - 1000), at(NOW - 3000)]);
    sim.add('accepted_traffic', [at(NOW - 2000), at(NOW - 4000), at(NOW)]);
    const times = sim.records('accepted_traffic').map(timeOf);
    expect(times).toEqual([NOW - 4000, NOW - 3000, NOW - 2000, NOW - 1000, NOW]);
    const served = await drain(sim.url, 'accepted_traffic', {
      start: iso(NOW - 5000),
      end: iso(NOW),
      limit: '2',
    });
    expect(served.records.map(timeOf)).toEqual(times);
  });
});

describe('streams', () => {
  it.each(STREAMS)('%s is served from its own endpoint', async (stream: Stream) => {
    sim.generate({ start: NOW - HOUR, end: NOW - 1000, counts: { [stream]: 20 }, seed: 2 });
    const { records } = await drain(sim.url, stream, { start: iso(NOW - HOUR), end: iso(NOW) });
    expect(records).toEqual(sim.records(stream));
    for (const other of STREAMS.filter((s) => s !== stream)) {
      expect((await httpGet(logUrl(sim.url, other, { start: iso(NOW - HOUR), end: iso(NOW) }))).status).toBe(
        204,
      );
    }
  });
});
