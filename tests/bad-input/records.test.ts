import { canonicalJson } from '../../trigger_fetch_new_logs/record-identity';
import type { Harness } from '../integration/harness';
import { ago, badInputHarness, expectNoSecrets, settle } from './bad-input-harness';

jest.setTimeout(20_000);

/**
 * How a bad record reaches the trigger: stored in the simulator (it needs a valid genTime to be
 * filtered), or inside a page the API answers once (anything at all, even `null`).
 */
type Route = 'store' | 'page';
/** forwarded: arrives exactly as sent. trimmed: arrives cut under 250 kB, marked, with a warning. */
type Outcome = 'forwarded' | 'trimmed';

interface RecordCase {
  name: string;
  route: Route;
  records: unknown[];
  outcome: Outcome;
  /** The page as text, when JSON.stringify cannot produce it (escapes, duplicate keys). */
  pageText?: (good: string[]) => string;
}

const base = (minutes: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  genTime: ago(minutes),
  timestamp: ago(minutes),
  mailID: `00000000-0000-4000-8000-${String(minutes).padStart(12, '0')}`,
  sender: 'sender@example.org',
  recipient: 'user@example.com',
  subject: 'hello',
  action: 'Delivered',
  ...extra,
});

const { mailID: _mailID, ...withoutMailId } = base(40);
const { genTime: _genTime, ...withoutGenTime } = base(41);
const deep = (depth: number): unknown => (depth === 0 ? 'bottom' : { d: deep(depth - 1) });
const manySmallFields = Object.fromEntries(
  Array.from({ length: 30_000 }, (_, i) => [`f${i}`, 'v'.repeat(8)]),
);

const CASES: RecordCase[] = [
  { name: 'missing mailID', route: 'store', records: [withoutMailId], outcome: 'forwarded' },
  { name: 'missing genTime', route: 'page', records: [withoutGenTime], outcome: 'forwarded' },
  {
    name: 'genTime not a date',
    route: 'page',
    records: [base(42, { genTime: 'yesterday' })],
    outcome: 'forwarded',
  },
  {
    name: 'every field null except genTime',
    route: 'store',
    records: [
      { genTime: ago(43), timestamp: null, mailID: null, sender: null, recipient: null, subject: null },
    ],
    outcome: 'forwarded',
  },
  { name: 'an empty object', route: 'page', records: [{}], outcome: 'forwarded' },
  { name: 'subject is a number', route: 'store', records: [base(44, { subject: 42 })], outcome: 'forwarded' },
  { name: 'size is a string', route: 'store', records: [base(45, { size: 'big' })], outcome: 'forwarded' },
  {
    name: 'attachments is an object',
    route: 'store',
    records: [base(46, { attachments: {} })],
    outcome: 'forwarded',
  },
  {
    name: 'embeddedUrls holds null and numbers',
    route: 'store',
    records: [base(47, { embeddedUrls: [null, 3, { u: 1 }] })],
    outcome: 'forwarded',
  },
  {
    name: 'mailID is an array',
    route: 'store',
    records: [base(48, { mailID: ['a', 'b'] })],
    outcome: 'forwarded',
  },
  {
    name: 'recipient is a boolean',
    route: 'store',
    records: [base(49, { recipient: true })],
    outcome: 'forwarded',
  },
  {
    name: 'a 100 kB subject (under the limit)',
    route: 'store',
    records: [base(50, { subject: 'S'.repeat(100_000) })],
    outcome: 'forwarded',
  },
  {
    name: 'a 300 kB subject',
    route: 'store',
    records: [base(51, { subject: 'x'.repeat(300_000) })],
    outcome: 'trimmed',
  },
  {
    name: 'a 300 kB record of multi-byte text in two fields',
    route: 'store',
    records: [base(52, { subject: 'é'.repeat(80_000), headerFrom: '€'.repeat(60_000) })],
    outcome: 'trimmed',
  },
  {
    name: 'a 300 kB attachment list',
    route: 'store',
    records: [
      base(53, {
        attachments: Array.from({ length: 3_000 }, (_, i) => ({
          fileName: `f${i}.bin`,
          sha256: 'a'.repeat(64),
        })),
      }),
    ],
    outcome: 'trimmed',
  },
  {
    name: 'a 300 kB record of 30,000 small fields',
    route: 'store',
    records: [{ ...base(54), ...manySmallFields }],
    outcome: 'trimmed',
  },
  {
    name: 'lone surrogates and control characters (JSON escapes)',
    route: 'page',
    records: [],
    outcome: 'forwarded',
    pageText: (good) =>
      `{"logs":[${good[0] ?? ''},{"genTime":"${ago(55)}","subject":"\\ud800 lone high, \\udc00 lone low, \\u0000 nul, \\u202e rtl, \\ud83d\\ude00 pair"},${good[1] ?? ''}]}`,
  },
  {
    name: 'replacement characters and non-characters',
    route: 'store',
    records: [base(56, { subject: '\ufffd\ufffe\uffff caf\u00e9 \u{10ffff}' })],
    outcome: 'forwarded',
  },
  {
    name: 'a key repeated in the JSON text',
    route: 'page',
    records: [],
    outcome: 'forwarded',
    pageText: (good) =>
      `{"logs":[${good[0] ?? ''},{"genTime":"${ago(57)}","subject":"first","subject":"second"},${good[1] ?? ''}]}`,
  },
  {
    name: 'a __proto__ key',
    route: 'page',
    records: [JSON.parse(`{"genTime":"${ago(58)}","__proto__":{"x":1}}`)],
    outcome: 'forwarded',
  },
  {
    name: 'nested 500 levels deep',
    route: 'page',
    records: [{ genTime: ago(59), details: deep(500) }],
    outcome: 'forwarded',
  },
  { name: 'null as a record', route: 'page', records: [null], outcome: 'forwarded' },
  { name: 'a string as a record', route: 'page', records: ['just a string'], outcome: 'forwarded' },
  { name: 'a number as a record', route: 'page', records: [12345], outcome: 'forwarded' },
  { name: 'an array as a record', route: 'page', records: [[1, 'two', null]], outcome: 'forwarded' },
  { name: 'a boolean as a record', route: 'page', records: [false], outcome: 'forwarded' },
];

const GOOD = [base(30, { recipient: 'before@example.com' }), base(29, { recipient: 'after@example.com' })];

/** Serves the case; returns the records as the trigger will parse them. */
function serve(h: Harness, c: RecordCase): unknown[] {
  if (c.route === 'store') {
    h.simulator.add('accepted_traffic', [...GOOD, ...(c.records as Record<string, unknown>[])]);
    return [...GOOD, ...c.records];
  }
  const body =
    c.pageText?.(GOOD.map((g) => JSON.stringify(g))) ??
    JSON.stringify({ logs: [GOOD[0], ...c.records, GOOD[1]] });
  // Twice: the trigger's first request is its server-clock probe (TmesClient.probe).
  h.simulator.failNext(2, { status: 200, body }, 'accepted_traffic');
  return (JSON.parse(body) as { logs: unknown[] }).logs;
}

async function run(
  h: Harness,
  c: RecordCase,
  outputFormat: 'raw' | 'ecs',
): Promise<{ sent: unknown[]; received: unknown[] }> {
  const sent = serve(h, c);
  await h.start({ log_types: ['accepted_traffic'], output_format: outputFormat });
  await h.until(() => h.intake.events.length >= sent.length);
  await settle(h);
  expect(await h.stop()).toBe(0);
  expect(h.intake.events).toHaveLength(sent.length);
  expect(h.logger.messages('critical')).toEqual([]);
  return { sent, received: h.intake.events.map((e) => JSON.parse(e) as unknown) };
}

describe('malformed records: forwarded (or trimmed with a marker), never a crash, never the batch lost', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('raw: %s', async (_, c) => {
    h = badInputHarness();
    const { sent, received } = await run(h, c, 'raw');
    // The good neighbours always arrive as they were.
    const canon = received.map(canonicalJson);
    for (const good of GOOD) expect(canon).toContain(canonicalJson(good));
    const warnings = h.logger.messages('warning').filter((m) => m.includes('250 kB'));
    const notObjects = c.records.filter((r) => typeof r !== 'object' || r === null || Array.isArray(r));
    expect(h.logger.messages('warning').filter((m) => m.includes('not JSON objects'))).toHaveLength(
      notObjects.length > 0 ? 1 : 0,
    );
    if (c.outcome === 'forwarded') {
      expect([...canon].sort()).toEqual(sent.map(canonicalJson).sort());
      expect(warnings).toEqual([]);
      for (const event of h.intake.events) expect(Buffer.byteLength(event)).toBeLessThanOrEqual(250_000);
    } else {
      const [cut] = h.intake.events.filter((e) => e.includes('truncated'));
      expect(cut).toBeDefined();
      expect(Buffer.byteLength(cut ?? '')).toBeLessThanOrEqual(250_000);
      const parsed = JSON.parse(cut ?? '{}') as Record<string, unknown>;
      expect(parsed.truncated_fields ?? parsed.truncated_record).toBeDefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /accepted_traffic: a record over the intake's 250 kB limit was forwarded with these fields cut: \S+/,
      );
    }
    expectNoSecrets(h);
  });

  it.each(
    CASES.filter((c) =>
      [
        'null as a record',
        'a string as a record',
        'missing genTime',
        'a 300 kB subject',
        'subject is a number',
        'attachments is an object',
      ].includes(c.name),
    ).map((c) => [c.name, c] as const),
  )('ecs: %s becomes a document, a pipeline error when it is not a record', async (_, c) => {
    h = badInputHarness();
    const received = (await run(h, c, 'ecs')).received as {
      event?: { kind?: string };
      error?: { message?: string };
    }[];
    for (const doc of received) expect(doc.event?.kind).toBeDefined();
    const isRecord = typeof c.records[0] === 'object' && c.records[0] !== null;
    const errors = received.filter((d) => d.event?.kind === 'pipeline_error');
    expect(errors).toHaveLength(isRecord ? 0 : 1);
    if (!isRecord) expect(errors[0]?.error?.message).toMatch(/Expected a TMES record \(a JSON object\)/);
    expectNoSecrets(h);
  });
});
