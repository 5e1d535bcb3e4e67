import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { normalize, type EcsDocument } from '../trigger_fetch_new_logs/normalizer';
import { ecsValidatorFor, emptyValuePaths, schemaErrors } from './helpers/ecs-schemas';
import { fixturePath } from './helpers/fixtures';

const STREAMS = ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const;

/** The shape every document has, whatever went in. */
function expectWellFormed(document: EcsDocument): void {
  expect(typeof document).toBe('object');
  expect(typeof document.message).toBe('string');
  expect(typeof (document.event as { kind?: unknown }).kind).toBe('string');
  expect(emptyValuePaths(document)).toEqual([]);
  expect(schemaErrors(ecsValidatorFor(document), document)).toEqual([]);
}

// Values a field may hold when the API (or a proxy, or a bug) sends something unexpected.
const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null))),
  fc.dictionary(fc.string(), fc.string()),
);
const isoDate = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const email = fc.emailAddress();
const sha256 = fc.stringMatching(/^[0-9a-f]{64}$/);
const url = fc.webUrl();
const ip = fc.oneof(fc.ipV4(), fc.ipV6());

/** Plausible or absurd values, field by field: the normaliser must take them all. */
const field = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: plausible, weight: 3 }, { arbitrary: anyValue, weight: 1 });

const mailTrackingRecord = fc.record(
  {
    genTime: field(isoDate),
    timestamp: field(isoDate),
    deliveryTime: field(isoDate),
    mailID: field(fc.uuid()),
    messageID: field(email.map((e) => `<${e}>`)),
    sender: field(email),
    recipient: field(email),
    headerFrom: field(email),
    headerTo: field(fc.array(email)),
    subject: field(fc.string()),
    size: field(fc.nat()),
    direction: field(fc.constantFrom('in', 'out')),
    action: field(fc.constantFrom('Delivered', 'Bounced', 'Quarantined', 'constructor', '__proto__')),
    reason: field(fc.string()),
    details: field(fc.string()),
    tlsInfo: field(
      fc.constantFrom('upstreamTLS: TLS 1.2; downstreamTLS: None', 'upstreamTLS: TLS 1.3', ';:;'),
    ),
    senderIP: field(ip),
    deliveredTo: field(
      fc.oneof(
        ip,
        fc.constant('none'),
        fc.tuple(fc.domain(), ip, fc.integer({ min: 0, max: 70000 })).map(([h, a, p]) => `${h}[${a}]:${p}`),
      ),
    ),
    attachments: field(
      fc.array(fc.record({ fileName: field(fc.string()), sha256: field(sha256) }, { requiredKeys: [] })),
    ),
    embeddedUrls: field(fc.array(url)),
  },
  { requiredKeys: [] },
);

const detailsValue = fc.record(
  {
    fileInfo: field(
      fc.array(
        fc.record(
          {
            fileName: field(fc.string()),
            fileSha256: field(sha256),
            threatName: field(fc.string()),
            riskLevel: field(fc.nat()),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    urlInfo: field(
      fc.array(
        fc.record(
          {
            url: field(url),
            extractType: field(fc.string()),
            attachmentSha256: field(sha256),
            riskLevel: field(fc.nat().map(String)),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    threatNames: field(fc.string()),
    riskLevel: field(fc.nat().map(String)),
    spamReport: field(
      fc.record(
        { enginePatternVersion: field(fc.string()), spamRidHeader: field(fc.string()) },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const policyEventRecord = fc.record(
  {
    genTime: field(isoDate),
    timestamp: field(isoDate),
    eventType: field(fc.constantFrom('Malware', 'Spam', 'Domain-based Authentication', 'hasOwnProperty')),
    eventSubtype: field(fc.string()),
    domainName: field(fc.domain()),
    sender: field(email),
    headerFrom: field(email),
    recipients: field(fc.array(email)),
    headerTo: field(fc.array(email)),
    direction: field(fc.constantFrom('in', 'out')),
    messageID: field(email.map((e) => `<${e}>`)),
    subject: field(fc.string()),
    size: field(fc.nat()),
    policyName: field(fc.string()),
    policyAction: field(fc.string()),
    details: field(
      fc.oneof(
        detailsValue.map((d) => JSON.stringify(d)),
        fc.constant(null),
        detailsValue,
        fc.string(),
      ),
    ),
  },
  { requiredKeys: [] },
);

describe('normalize is total', () => {
  it('never throws on any JSON value, and always returns a well-formed document', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.option(fc.constantFrom(...STREAMS), { nil: undefined }),
        (value, stream) => {
          expectWellFormed(normalize(value, stream));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary objects (including undefined, -0, sparse values)', () => {
    fc.assert(
      fc.property(fc.object({ withNullPrototype: true, withBigInt: true, withMap: true }), (value) => {
        const document = normalize(value);
        expect(typeof (document.event as { kind?: unknown }).kind).toBe('string');
        expect(typeof document.message).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('mail tracking records with any field types give documents that follow the ECS schema', () => {
    fc.assert(
      fc.property(
        mailTrackingRecord,
        fc.constantFrom('accepted_traffic' as const, 'blocked_traffic' as const),
        (record, stream) => {
          const document = normalize(record, stream);
          expectWellFormed(document);
          expect((document.event as { dataset?: unknown }).dataset).toBe(
            `trend_micro_email_security.${stream}`,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('policy events with any field types and any details give documents that follow the ECS schema', () => {
    fc.assert(
      fc.property(policyEventRecord, (record) => {
        const document = normalize(record, 'policy_events');
        expectWellFormed(document);
        expect((document.event as { kind?: unknown }).kind).toBe('alert');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('normalize is pure', () => {
  it('does not modify its input and gives the same document twice', () => {
    fc.assert(
      fc.property(fc.oneof(mailTrackingRecord, policyEventRecord), (record) => {
        const before = JSON.stringify(record);
        const first = normalize(record);
        expect(JSON.stringify(record)).toBe(before);
        expect(normalize(record)).toEqual(first);
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the record keys (only message does)', () => {
    fc.assert(
      fc.property(mailTrackingRecord, fc.infiniteStream(fc.double()), (record, noise) => {
        const entries = Object.entries(record);
        const shuffled = Object.fromEntries(
          entries
            .map((e) => [noise.next().value, e] as const)
            .sort((a, b) => a[0] - b[0])
            .map(([, e]) => e),
        );
        const { message: _a, ...one } = normalize(record);
        const { message: _b, ...two } = normalize(shuffled);
        expect(two).toEqual(one);
      }),
      { numRuns: 300 },
    );
  });

  it('ignores unknown keys: adding them never changes a field other than message', () => {
    const seedDir = fixturePath('seed-samples');
    const seeds = fs
      .readdirSync(seedDir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(fs.readFileSync(path.join(seedDir, name), 'utf8')) as { message: string })
      .map((sample) => JSON.parse(sample.message) as Record<string, unknown>);
    const known = new Set(seeds.flatMap((seed) => Object.keys(seed)));
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.dictionary(
          fc.string().filter((k) => !known.has(k) && k !== '__proto__'),
          fc.jsonValue(),
        ),
        (record, extras) => {
          const { message: _a, ...plain } = normalize(record);
          const { message: _b, ...extended } = normalize({ ...record, ...extras });
          expect(extended).toEqual(plain);
        },
      ),
      { numRuns: 300 },
    );
  });
});
