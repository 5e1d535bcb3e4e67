import fc from 'fast-check';
import {
  DEPTH_MARKER,
  RecordTooDeepError,
  canonicalJson,
  StreamIdentity,
  identityOf,
  recordKey,
  recordTime,
  safeRecordForm,
  serializeRecord,
} from '../../trigger_fetch_new_logs/record-identity';

/** The definition canonicalJson must keep to: keys sorted object by object, joined field by field. */
function fieldByField(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(fieldByField).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${fieldByField((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

describe('recordKey', () => {
  const a = { mailID: 'm1', recipient: 'a@x', genTime: '2026-01-01T00:00:00Z', action: 'Delivered' };

  it('comes from the serialised record: another field order is another identity (a duplicate, never a loss)', () => {
    const reordered = {
      action: 'Delivered',
      genTime: '2026-01-01T00:00:00Z',
      recipient: 'a@x',
      mailID: 'm1',
    };
    expect(recordKey('accepted_traffic', a)).toBe(identityOf('accepted_traffic', JSON.stringify(a)));
    expect(recordKey('accepted_traffic', a)).toBe(recordKey('accepted_traffic', { ...a }));
    expect(recordKey('accepted_traffic', a)).not.toBe(recordKey('accepted_traffic', reordered));
  });

  it('tells apart the per-recipient records of one mail (same mailID)', () => {
    expect(recordKey('accepted_traffic', a)).not.toBe(
      recordKey('accepted_traffic', { ...a, recipient: 'b@x' }),
    );
  });

  it('tells apart streams', () => {
    expect(recordKey('accepted_traffic', a)).not.toBe(recordKey('blocked_traffic', a));
  });

  it('is pinned: identities are kept in the journal across versions', () => {
    const record = { ...a, attachments: [{ sha256: 'ab', fileName: 'é.pdf' }] };
    expect(serializeRecord(record)).toBe(JSON.stringify(record));
    expect(recordKey('accepted_traffic', record)).toBe('UesDOLPZqt8kAw-5');
  });

  it('is the same on the hot path (StreamIdentity): identities in journals keep matching', () => {
    const record = { ...a, attachments: [{ sha256: 'ab', fileName: 'é.pdf' }] };
    expect(new StreamIdentity('accepted_traffic').of(JSON.stringify(record))).toBe('UesDOLPZqt8kAw-5');
    fc.assert(
      fc.property(
        fc.constantFrom('accepted_traffic', 'blocked_traffic', 'policy_events'),
        fc.string(),
        (stream, text) => {
          const identity = new StreamIdentity(stream);
          // Twice: each record continues from a copy of the prefix state, never from the last record.
          expect(identity.of(text)).toBe(identityOf(stream, text));
          expect(identity.of(text)).toBe(identityOf(stream, text));
        },
      ),
    );
  });

  it('is the same on the hot path for any text: long ones, multi-byte ones, lone surrogates', () => {
    const identity = new StreamIdentity('policy_events');
    const texts = [
      '',
      '\ud800',
      'a\udfffb',
      '😀'.repeat(50_000),
      'é'.repeat(90_000),
      'x'.repeat(87_381),
      'x'.repeat(87_382),
      // Fewer UTF-16 units than the scratch buffer's bytes, more UTF-8 bytes: not cut short.
      '€'.repeat(100_000),
      '€'.repeat(300_000),
    ];
    // A long text after a short one, a short one after a long one: nothing of the previous
    // record's bytes is hashed with the next.
    for (const text of [...texts, ...texts.reverse()]) {
      expect(identity.of(text)).toBe(identityOf('policy_events', text));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2_000 }), (text) => {
        expect(identity.of(text)).toBe(identityOf('policy_events', text));
      }),
    );
  });

  it('writes any JSON value exactly as the field-by-field definition', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => canonicalJson(value) === fieldByField(value)),
      { numRuns: 2_000 },
    );
    // Shapes a copy with sorted keys would get wrong: index-like keys, __proto__, undefined, toJSON.
    for (const value of [
      { b: 1, 10: 'x', 9: 'y' },
      JSON.parse('{"__proto__": {"a": 1}, "": {}}') as unknown,
      { a: undefined, b: [undefined] },
      { when: new Date(0) },
    ]) {
      expect(canonicalJson(value)).toBe(fieldByField(value));
    }
  });

  it('canonicalises nested values', () => {
    expect(canonicalJson({ b: [{ d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[{"c":null,"d":1}]}');
  });
});

describe('recordTime', () => {
  it('takes the later of genTime and timestamp, with s or ms precision', () => {
    expect(recordTime({ genTime: '2026-01-01T00:00:01Z', timestamp: '2026-01-01T00:00:00.500Z' })).toBe(
      Date.UTC(2026, 0, 1, 0, 0, 1),
    );
    expect(recordTime({ genTime: '2026-01-01T00:00:01.250Z' })).toBe(Date.UTC(2026, 0, 1, 0, 0, 1, 250));
  });

  it('puts records without a usable genTime always at the edge', () => {
    expect(recordTime({ timestamp: 'x' })).toBe(Infinity);
    expect(recordTime(null)).toBe(Infinity);
    expect(recordTime({ genTime: 12 })).toBe(Infinity);
  });
});

describe('depth safety', () => {
  const deep = (levels: number): unknown => {
    let value: unknown = 'bottom';
    for (let i = 0; i < levels; i++) value = { nested: [value] };
    return value;
  };

  it('refuses a record nested 5,000 levels deep with a typed error, not a stack overflow', () => {
    expect(() => recordKey('accepted_traffic', deep(5_000))).toThrow(RecordTooDeepError);
    expect(recordKey('accepted_traffic', deep(300))).toHaveLength(16);
  });

  it('gives any record a stable, depth-limited safe form with a marker', () => {
    const safe = safeRecordForm({ genTime: 'x', details: deep(5_000), n: Infinity });
    const text = JSON.stringify(safe);
    expect(text).toContain(DEPTH_MARKER);
    expect(text).toContain('"n":null');
    expect(recordKey('accepted_traffic', safe)).toBe(
      recordKey('accepted_traffic', safeRecordForm({ genTime: 'x', details: deep(5_000), n: Infinity })),
    );
  });

  it('keeps the fields of the safe form in the order of the record (its excerpt starts with them)', () => {
    const record = { genTime: 'g', mailID: 'm', details: { a: deep(5_000), b: 1 }, z: [1, { y: 2, x: 3 }] };
    const safe = safeRecordForm(record) as Record<string, unknown>;
    expect(Object.keys(safe)).toEqual(['genTime', 'mailID', 'details', 'z']);
    expect(Object.keys(safe.details as object)).toEqual(['a', 'b']);
    expect(JSON.stringify(safe.z)).toBe('[1,{"y":2,"x":3}]');
  });
});
