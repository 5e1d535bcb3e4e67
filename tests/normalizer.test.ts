import * as fs from 'node:fs';
import { normalize, type EcsDocument } from '../trigger_fetch_new_logs/normalizer';
import { isoDateTime } from '../trigger_fetch_new_logs/normalizer/fields';
import { parseDeliveredTo, urlHost } from '../trigger_fetch_new_logs/normalizer/ecs';
import { ecsValidatorFor, emptyValuePaths, schemaErrors, schemaValidator } from './helpers/ecs-schemas';
import { fixturePath, readFixture } from './helpers/fixtures';

type Json = Record<string, unknown>;
interface Seed extends Json {
  message: string;
}
interface AcceptedFixture {
  api_response_envelope: { nextToken: string; logs: Json[] };
  records: Json[];
}
interface PolicyFixture {
  records: Json[];
  details_examples: Record<string, unknown>;
}

const seedDir = fixturePath('seed-samples');
const seeds = fs
  .readdirSync(seedDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => [name, readFixture('seed-samples', name) as Seed] as const);

const accepted = readFixture('tmes', 'accepted_traffic.json') as AcceptedFixture;
const blocked = readFixture('tmes', 'blocked_traffic.json') as { records: Json[] };
const policy = readFixture('tmes', 'policy_events.json') as PolicyFixture;
const acceptedRecords: Json[] = [...accepted.api_response_envelope.logs, ...accepted.records];
const blockedRecords: Json[] = blocked.records;
const policyRecord = policy.records[0]!;
const detailsExamples = Object.entries(policy.details_examples);

/** Every leaf of `expected` (arrays compared whole), as [dotted path, value]. */
function leaves(expected: unknown, at: string[] = []): [string[], unknown][] {
  if (typeof expected !== 'object' || expected === null || Array.isArray(expected)) return [[at, expected]];
  return Object.entries(expected).flatMap(([key, value]) => leaves(value, [...at, key]));
}

function pick(document: unknown, at: string[]): unknown {
  return at.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);
}

const get = (document: EcsDocument, dotted: string): unknown => pick(document, dotted.split('.'));

describe('seed samples: the documents Sekoia produces today are reproduced', () => {
  it('has the four samples', () => {
    expect(seeds.map(([name]) => name).sort()).toEqual([
      'bounced.json',
      'delivered.json',
      'quarantined.json',
      'scanning_in_sandbox.json',
    ]);
  });

  it.each(seeds)('%s: every field of the sample is in the document with the same value', (_name, sample) => {
    const document = normalize(JSON.parse(sample.message));
    const { message, ...rest } = sample;
    expect(JSON.parse(document.message as string)).toEqual(JSON.parse(message));
    for (const [at, value] of leaves(rest)) {
      expect([at.join('.'), pick(document, at)]).toEqual([at.join('.'), value]);
    }
  });

  it.each(seeds)('%s: extra fields do not change the seed fields', (_name, sample) => {
    const record = JSON.parse(sample.message);
    const plain = normalize(record);
    const withExtras = normalize({ ...record, unknownField: 'x', anotherOne: { nested: [1, 2] } });
    for (const [at] of leaves(sample)) {
      if (at[0] !== 'message') expect(pick(withExtras, at)).toEqual(pick(plain, at));
    }
  });
});

describe('fixtures normalise into documents that follow the ECS schemas', () => {
  const mailRecord = schemaValidator('mail-tracking-record.schema.json');
  const policyRecordSchema = schemaValidator('policy-event-record.schema.json');
  const page = schemaValidator('api-page.schema.json');

  it('the API envelope is an API page', () => {
    expect(schemaErrors(page, accepted.api_response_envelope)).toEqual([]);
    expect(schemaErrors(page, { logs: 'nope' })).not.toEqual([]);
  });

  it.each([...acceptedRecords, ...blockedRecords].map((r, i) => [i, r]))(
    'mail tracking record %i validates and normalises',
    (_i, record) => {
      expect(schemaErrors(mailRecord, record)).toEqual([]);
      const document = normalize(record);
      expect(schemaErrors(ecsValidatorFor(document), document)).toEqual([]);
      expect(emptyValuePaths(document)).toEqual([]);
      expect(document.error).toBeUndefined();
    },
  );

  it.each(detailsExamples)('policy event with details of "%s" validates and normalises', (_name, details) => {
    const record = { ...policyRecord, details: details === null ? null : JSON.stringify(details) };
    expect(schemaErrors(policyRecordSchema, record)).toEqual([]);
    const document = normalize(record);
    expect(get(document, 'event.dataset')).toBe('trend_micro_email_security.policy_events');
    expect(schemaErrors(ecsValidatorFor(document), document)).toEqual([]);
    expect(emptyValuePaths(document)).toEqual([]);
    expect(document.error).toBeUndefined();
  });

  it('the verbatim policy record validates and normalises', () => {
    expect(schemaErrors(policyRecordSchema, policyRecord)).toEqual([]);
    const document = normalize(policyRecord);
    expect(schemaErrors(ecsValidatorFor(document), document)).toEqual([]);
  });

  it('the ECS schemas are strict: an unknown field or a wrong type is rejected', () => {
    const document = normalize(acceptedRecords[0]);
    const validate = ecsValidatorFor(document);
    expect(schemaErrors(validate, { ...document, surprise: 1 })).not.toEqual([]);
    expect(
      schemaErrors(validate, { ...document, email: { ...(document.email as object), subject: 3 } }),
    ).not.toEqual([]);
  });
});

describe('mail tracking mapping', () => {
  const record = accepted.records[0];
  const document = normalize(record);

  it.each([
    ['@timestamp', '2024-01-01T01:01:02Z'],
    ['event.kind', 'event'],
    ['event.category', ['email']],
    ['event.type', ['info']],
    ['event.action', 'Delivered'],
    ['event.outcome', 'success'],
    ['event.created', '2024-01-01T01:01:01Z'],
    ['event.dataset', 'trend_micro_email_security.accepted_traffic'],
    ['email.local_id', '73173f80-2e0e-46df-b2dc-a62e80167067'],
    ['email.message_id', '7bebfeb6-f035-451f-8c4f-3377ab457b07@atl1s07mta2135.xt.local'],
    ['email.sender.address', 'sender@example.com'],
    ['email.from.address', 'header_sender@example.com'],
    [
      'email.to.address',
      [
        'header_rcpt1@example.com',
        'header_rcpt2@example.com',
        'header_rcpt3@example.com',
        'rcpt@example.com',
      ],
    ],
    ['email.subject', 'response sample'],
    ['email.direction', 'outbound'],
    ['email.delivery_timestamp', '2024-01-01T01:01:05Z'],
    [
      'email.attachments',
      [
        {
          file: {
            name: 'test1.zip',
            hash: { sha256: 'f78960148721b59dcb563b9964a4d47e2a834a4259f46cd12db7c1cfe82ff32e' },
          },
        },
        {
          file: {
            name: 'test2.zip',
            hash: { sha256: '329436266f3927e89ea961e26855c8bd1f51401d92babd6627e493295376daf5' },
          },
        },
      ],
    ],
    ['network.direction', 'outbound'],
    ['source.ip', '1.1.1.1'],
    ['destination', { address: 'example.com', domain: 'example.com', ip: '2.2.2.2', port: 25 }],
    ['related.ip', ['1.1.1.1', '2.2.2.2']],
    [
      'related.hash',
      [
        'f78960148721b59dcb563b9964a4d47e2a834a4259f46cd12db7c1cfe82ff32e',
        '329436266f3927e89ea961e26855c8bd1f51401d92babd6627e493295376daf5',
      ],
    ],
    ['related.hosts', ['example.com', 'example1.com', 'example2.com']],
    ['trendmicro.email.embedded_urls', ['http://example1.com', 'http://example2.com']],
    ['trendmicro.email.size', 66390],
    ['trendmicro.email.smtp_response', '250 2.0.0 Ok: queued as 3CBEFC0811'],
    ['trendmicro.email.upstream_tls', 'TLS 1.2'],
    ['trendmicro.email.downstream_tls', 'TLS 1.2'],
  ])('%s', (field, value) => {
    expect(get(document, field)).toEqual(value);
  });

  it('maps blocked traffic: reason, denied, not delivered', () => {
    const doc = normalize(blockedRecords[0]);
    expect(doc.event).toEqual({
      kind: 'event',
      category: ['email'],
      type: ['denied'],
      action: 'Blocked',
      reason: 'Email reputation',
      outcome: 'failure',
      created: '2024-01-01T01:02:03Z',
      dataset: 'trend_micro_email_security.blocked_traffic',
    });
    expect(get(doc, 'email.to.address')).toEqual(['user@example.com']);
    expect(get(doc, 'source.ip')).toBe('203.0.113.7');
  });

  it('infers the stream from the fields, and an explicit stream wins', () => {
    expect(get(normalize(blockedRecords[0]), 'event.dataset')).toBe(
      'trend_micro_email_security.blocked_traffic',
    );
    expect(get(normalize(policyRecord), 'event.dataset')).toBe('trend_micro_email_security.policy_events');
    expect(get(normalize({ policyName: 'p' }), 'event.kind')).toBe('alert');
    expect(get(normalize({ reason: 'r', action: 'Delivered' }), 'event.dataset')).toBe(
      'trend_micro_email_security.accepted_traffic',
    );
    expect(get(normalize(blockedRecords[0], 'accepted_traffic'), 'event.dataset')).toBe(
      'trend_micro_email_security.accepted_traffic',
    );
    expect(get(normalize({ mailID: 'm' }, 'blocked_traffic'), 'event.type')).toEqual(['denied']);
  });

  it('emits only what the record holds: no nulls, no empty objects or lists', () => {
    const sparse = normalize({
      genTime: '2024-01-01T00:00:00Z',
      attachments: null,
      embeddedUrls: [],
      headerTo: [],
      deliveredTo: 'none',
      subject: '',
    });
    expect(sparse).toEqual({
      '@timestamp': '2024-01-01T00:00:00Z',
      message:
        '{"genTime":"2024-01-01T00:00:00Z","attachments":null,"embeddedUrls":[],"headerTo":[],"deliveredTo":"none","subject":""}',
      event: {
        kind: 'event',
        category: ['email'],
        type: ['info'],
        created: '2024-01-01T00:00:00Z',
        dataset: 'trend_micro_email_security.accepted_traffic',
      },
    });
  });

  it('keeps an unknown tlsInfo shape whole', () => {
    expect(get(normalize({ tlsInfo: 'TLSv1.3 only' }), 'trendmicro.email.tls_info')).toBe('TLSv1.3 only');
  });

  it('keeps a senderIP that is not an IP out of source.ip', () => {
    const doc = normalize({ senderIP: 'mx.example.com' });
    expect(doc.source).toEqual({ address: 'mx.example.com' });
    expect(doc.related).toBeUndefined();
  });
});

describe('deliveredTo', () => {
  it.each([
    ['2.2.2.2', { address: '2.2.2.2', ip: '2.2.2.2' }],
    ['example.com[2.2.2.2]:25', { address: 'example.com', domain: 'example.com', ip: '2.2.2.2', port: 25 }],
    [
      'mx.example.org[2001:db8::1]:587',
      { address: 'mx.example.org', domain: 'mx.example.org', ip: '2001:db8::1', port: 587 },
    ],
    ['[5.6.7.8]:25', { address: '5.6.7.8', ip: '5.6.7.8', port: 25 }],
    ['mx.example.org', { address: 'mx.example.org', domain: 'mx.example.org' }],
    ['host[not-an-ip]:99999', { address: 'host', domain: 'host' }],
    ['??? weird', { address: '??? weird' }],
    ['none', undefined],
    ['NONE', undefined],
    ['  ', undefined],
  ])('%j', (text, expected) => {
    expect(parseDeliveredTo(text)).toEqual(expected);
  });
});

describe('url hosts', () => {
  it.each([
    ['https://User:pw@Example.COM:8443/x?y#z', 'example.com'],
    ['http://[2001:db8::1]:80/', '2001:db8::1'],
    ['https://a.b/c@d', 'a.b'],
    ['mailto:x@y', undefined],
    ['no scheme', undefined],
    ['https://', undefined],
  ])('%s → %s', (url, host) => {
    expect(urlHost(url)).toBe(host);
  });
});

describe('policy event mapping', () => {
  const withDetails = (details: unknown): EcsDocument =>
    normalize({ ...policyRecord, details: typeof details === 'string' ? details : JSON.stringify(details) });
  const example = (prefix: string): unknown => detailsExamples.find(([name]) => name.startsWith(prefix))![1];

  it('maps the verbatim record', () => {
    const doc = normalize(policyRecord);
    expect(doc['@timestamp']).toBe('2024-01-01T01:01:02.002Z');
    expect(doc.event).toEqual({
      kind: 'alert',
      category: ['email', 'malware'],
      type: ['info'],
      action: 'Bypass',
      created: '2024-01-01T01:01:01.001Z',
      dataset: 'trend_micro_email_security.policy_events',
    });
    expect(doc.rule).toEqual({ name: 'test_policy: example.com: Virus' });
    expect(get(doc, 'email.to.address')).toEqual([
      'header_rcpt1@example.com',
      'header_rcpt2@example.com',
      'rcpt1@example.com',
      'rcpt2@example.com',
    ]);
    expect(get(doc, 'email.message_id')).toBe('20200725033505.DC75B100860D8@example.com');
    expect(get(doc, 'email.direction')).toBe('inbound');
    expect(get(doc, 'trendmicro.email')).toMatchObject({
      event_type: 'Suspicious Objects',
      event_subtype: 'Suspicious URLs',
      domain: 'example.com',
      size: 6564,
    });
    expect(get(doc, 'url.domain')).toBe('mcusercontent.com');
    expect(get(doc, 'related.hosts')).toEqual(['mcusercontent.com']);
  });

  it('decodes fileInfo and threat names (malware)', () => {
    const doc = withDetails(example('Malware'));
    const sha = 'abcd1234dae60bcae54516be6c9953b4bb9644e188606ceac00feebf95bbf10e';
    expect(get(doc, 'email.attachments')).toEqual([{ file: { name: 'file1', hash: { sha256: sha } } }]);
    expect(doc.file).toEqual({ name: 'file1', hash: { sha256: sha } });
    expect(get(doc, 'trendmicro.email.threat_names')).toEqual(['Troj', 'SPY']);
    expect(get(doc, 'related.hash')).toEqual([sha]);
  });

  it('decodes urlInfo with its attachment and the risk level', () => {
    const doc = withDetails(example('Advanced Persistent Threat / Analyzed Advanced Threats (URLs)'));
    expect(get(doc, 'url.original')).toBe('http://example1.com');
    expect(get(doc, 'trendmicro.email.urls')).toEqual(['http://example1.com']);
    expect(get(doc, 'event.risk_score')).toBe(3);
    expect(get(doc, 'related.hash')).toEqual([
      '30ce5b4bd4e74f258fea84746b18fdc4790828fc256419b51bf8bcc7e4d38ecc',
    ]);
  });

  it('decodes the spam report', () => {
    expect(
      get(withDetails(example('Advanced Persistent Threat / Probable')), 'trendmicro.email.spam_report'),
    ).toEqual({
      engine_pattern_version: '9.0.0.1006;27324006',
      spam_result_header: '11-12.747600-7.000000',
      spam_rid_header: 'wjdoQEOKyrY5rof3b4z0VOZgbl4O3Ko30zWxVR+05p1F5bM86HNXD6PFjJEFr+olq+Ty',
    });
  });

  it('fills file.* and url.* only for a single file or URL', () => {
    const doc = withDetails({
      fileInfo: [{ fileName: 'a' }, { fileName: 'b' }],
      urlInfo: [{ url: 'http://a.example' }, { url: 'http://b.example' }],
    });
    expect(doc.file).toBeUndefined();
    expect(doc.url).toBeUndefined();
    expect(get(doc, 'email.attachments')).toEqual([{ file: { name: 'a' } }, { file: { name: 'b' } }]);
    expect(get(doc, 'trendmicro.email.urls')).toEqual(['http://a.example', 'http://b.example']);
  });

  it('categorises by event type', () => {
    const category = (eventType: string): unknown =>
      get(normalize({ ...policyRecord, eventType }), 'event.category');
    expect(category('Malware')).toEqual(['email', 'malware']);
    expect(category('Domain-based Authentication')).toEqual(['email', 'intrusion_detection']);
    expect(category('Spam')).toEqual(['email']);
    expect(category('constructor')).toEqual(['email']);
  });

  it('keeps details that are not JSON as text and says so', () => {
    const doc = withDetails('{"fileInfo": [');
    expect(get(doc, 'trendmicro.email.details')).toBe('{"fileInfo": [');
    expect(get(doc, 'error.message')).toContain('details (not valid JSON');
    expect(get(doc, 'event.kind')).toBe('alert');
    expect(get(withDetails('[1,2]'), 'trendmicro.email.details')).toBe('[1,2]');
  });

  it('accepts details already decoded, and null details', () => {
    expect(
      get(normalize({ ...policyRecord, details: example('Malware') }), 'trendmicro.email.threat_names'),
    ).toEqual(['Troj', 'SPY']);
    const none = normalize({ ...policyRecord, details: null });
    expect(none.error).toBeUndefined();
    expect(get(none, 'trendmicro.email.details')).toBeUndefined();
  });

  it('survives a huge urlInfo list', () => {
    const urlInfo = Array.from({ length: 200_000 }, (_, i) => ({
      url: `http://h${i % 3}.example/${i}`,
      riskLevel: i,
    }));
    const doc = withDetails({ urlInfo });
    expect(get(doc, 'event.risk_score')).toBe(199_999);
    expect(get(doc, 'related.hosts')).toEqual(['h0.example', 'h1.example', 'h2.example']);
  });
});

describe('odd input never throws and says what is wrong', () => {
  it.each([null, 42, 'a string', true, [], [{ mailID: 'x' }], undefined])('%j → pipeline_error', (value) => {
    const doc = normalize(value);
    expect(get(doc, 'event.kind')).toBe('pipeline_error');
    expect(typeof doc.message).toBe('string');
    expect(get(doc, 'error.message')).toMatch(/^Expected a TMES record \(a JSON object\), got /);
    expect(schemaErrors(ecsValidatorFor(doc), doc)).toEqual([]);
  });

  it('names the stream of a bad value when it is known', () => {
    expect(get(normalize('x', 'policy_events'), 'event.dataset')).toBe(
      'trend_micro_email_security.policy_events',
    );
  });

  it('reports fields of the wrong type and keeps the rest', () => {
    const doc = normalize({
      mailID: 'm',
      size: 'big',
      headerTo: ['a@example.com', 7],
      attachments: [{ fileName: 'f', sha256: 12 }, 'x'],
      timestamp: 'yesterday',
      direction: 5,
    });
    expect(get(doc, 'email.local_id')).toBe('m');
    expect(get(doc, 'email.to.address')).toEqual(['a@example.com']);
    expect(get(doc, 'email.attachments')).toEqual([{ file: { name: 'f' } }]);
    expect(doc['@timestamp']).toBeUndefined();
    const message = get(doc, 'error.message') as string;
    for (const field of [
      'size',
      'headerTo',
      'attachments[0].sha256',
      'attachments[1]',
      'timestamp',
      'direction',
    ]) {
      expect(message).toContain(field);
    }
    expect(schemaErrors(ecsValidatorFor(doc), doc)).toEqual([]);
  });

  it('survives values JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = { mailID: 'm' };
    cyclic.self = cyclic;
    expect(get(normalize(cyclic), 'email.local_id')).toBe('m');
    expect(normalize(10n).message).toBe('10');
    const throwing = Object.defineProperty({}, 'mailID', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(get(normalize(throwing), 'event.kind')).toBe('pipeline_error');
  });

  it('does not modify the record', () => {
    const record = structuredClone(accepted.records[0]);
    normalize(record);
    expect(record).toEqual(accepted.records[0]);
  });
});

describe('dates', () => {
  it.each([
    ['2023-09-28T13:55:33Z', '2023-09-28T13:55:33Z'],
    ['2023-09-28T13:55:33.12345Z', '2023-09-28T13:55:33.12345Z'],
    ['2023-09-28T13:55:33+02:00', '2023-09-28T13:55:33+02:00'],
    ['2023-09-28T13:55:33', '2023-09-28T13:55:33Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00Z'],
    ['2023-02-29T00:00:00Z', undefined],
    ['2023-02-30T00:00:00Z', undefined],
    ['2023-01-01T24:00:00Z', undefined],
    ['2023-13-01T00:00:00Z', undefined],
    ['2023-01-01 00:00:00Z', undefined],
    ['2023-01-01T00:00:00.Z', undefined],
    ['2023-01-01T00:00:00+0200', undefined],
    ['1', undefined],
    ['', undefined],
  ])('%j → %j', (text, expected) => {
    expect(isoDateTime(text)).toBe(expected);
  });

  it('falls back to genTime when timestamp is missing', () => {
    expect(normalize({ genTime: '2024-01-01T00:00:00Z' })['@timestamp']).toBe('2024-01-01T00:00:00Z');
  });
});
