import { INTAKE_MAX_EVENT_BYTES as MAX_EVENT_BYTES } from '@sekoia/automation-sdk-shim';
import { serializeWithinLimit } from '../../trigger_fetch_new_logs/event-size';

describe('serializeWithinLimit', () => {
  it('leaves a normal record untouched', () => {
    const record = { subject: 'hello', headerTo: ['a@x'] };
    expect(serializeWithinLimit(record)).toEqual({ json: JSON.stringify(record), truncated: [] });
  });

  it('cuts the largest field of a 300 kB record and says what was cut', () => {
    const record = { mailID: 'm1', subject: 'S'.repeat(300_000), details: 'ok' };
    const fitted = serializeWithinLimit(record);
    expect(Buffer.byteLength(fitted.json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    const parsed = JSON.parse(fitted.json);
    expect(parsed.mailID).toBe('m1');
    expect(parsed.details).toBe('ok');
    expect(parsed.subject).toMatch(/…\[truncated\]$/);
    expect(parsed.truncated_fields).toEqual({ subject: 300_000 });
    expect(fitted.truncated).toEqual(['subject']);
    expect(record.subject).toHaveLength(300_000);
  });

  it('measures bytes, not characters (multi-byte text)', () => {
    const record = { subject: '€'.repeat(90_000) };
    const fitted = serializeWithinLimit(record);
    expect(Buffer.byteLength(fitted.json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(fitted.truncated).toEqual(['subject']);
  });

  it('halves huge arrays nested anywhere', () => {
    const record = { headerTo: Array.from({ length: 40_000 }, (_, i) => `user${i}@example.com`) };
    const fitted = serializeWithinLimit(record);
    expect(Buffer.byteLength(fitted.json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(JSON.parse(fitted.json).truncated_fields.headerTo).toBeGreaterThan(MAX_EVENT_BYTES);
  });
});
