import { canonicalJson, recordKey, recordTime } from '../../trigger_fetch_new_logs/record-identity';

describe('recordKey', () => {
  const a = { mailID: 'm1', recipient: 'a@x', genTime: '2026-01-01T00:00:00Z', action: 'Delivered' };

  it('does not depend on key order', () => {
    const reordered = {
      action: 'Delivered',
      genTime: '2026-01-01T00:00:00Z',
      recipient: 'a@x',
      mailID: 'm1',
    };
    expect(recordKey('accepted_traffic', a)).toBe(recordKey('accepted_traffic', reordered));
  });

  it('tells apart the per-recipient records of one mail (same mailID)', () => {
    expect(recordKey('accepted_traffic', a)).not.toBe(
      recordKey('accepted_traffic', { ...a, recipient: 'b@x' }),
    );
  });

  it('tells apart streams', () => {
    expect(recordKey('accepted_traffic', a)).not.toBe(recordKey('blocked_traffic', a));
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
