import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import ts from 'typescript';
import { parseIsoTime } from '../../trigger_fetch_new_logs/iso-time';

const ROOT = resolve(__dirname, '../..');

describe('parseIsoTime', () => {
  it.each([
    ['2026-06-01T12:00:00Z', Date.UTC(2026, 5, 1, 12)],
    ['2026-06-01T12:00:00.123Z', Date.UTC(2026, 5, 1, 12, 0, 0, 123)],
    ['2026-06-01T12:00:00.12345Z', Date.UTC(2026, 5, 1, 12, 0, 0, 123)],
    ['2026-06-01T14:00:00+02:00', Date.UTC(2026, 5, 1, 12)],
    ['2026-06-01T12:00:00', Date.UTC(2026, 5, 1, 12)],
    ['2026-06-01T12:00:00.5', Date.UTC(2026, 5, 1, 12, 0, 0, 500)],
    ['2026-06-01', Date.UTC(2026, 5, 1)],
    ['2026-06-01t12:00:00z', Date.UTC(2026, 5, 1, 12)],
  ])('reads %s (a time without a zone is UTC)', (text, expected) => {
    expect(parseIsoTime(text)).toBe(expected);
  });

  it('reads canonical UTC times from their digits as Date.parse does (fraction truncated to ms), and lets the slow path judge the rest', () => {
    const twoDigits = (max: number): fc.Arbitrary<string> =>
      fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const canonical = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        twoDigits(13),
        twoDigits(32),
        twoDigits(25),
        twoDigits(60),
        twoDigits(60),
        fc.option(fc.stringMatching(/^[0-9]{1,15}$/), { nil: undefined }),
      )
      .map(([y, mo, d, h, mi, s, f]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === undefined ? '' : `.${f}`}Z`);
    // What parseIsoTime did before its digit reader: Date.parse, proven by a round trip, else luxon.
    const reference = (text: string): number | undefined => {
      const ms = Date.parse(text);
      if (!Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 19) === text.slice(0, 19)) return ms;
      const time = DateTime.fromISO(text, { zone: 'utc' });
      return time.isValid ? time.toMillis() : undefined;
    };
    // Date.parse misreads fractions of 10 or more digits that start with a zero (".0999999999" as
    // 999 ms): the reference reads the fraction cut to its first three digits, the truncation meant.
    const cut = (text: string): string => text.replace(/\.(\d{1,3})\d*Z$/, '.$1Z');
    fc.assert(
      fc.property(canonical, (text) => {
        expect(parseIsoTime(text)).toBe(reference(cut(text)));
      }),
      { numRuns: 20_000 },
    );
    expect(parseIsoTime('2026-06-01T00:00:00.0999999999Z')).toBe(Date.UTC(2026, 5, 1) + 99);
    for (const text of [
      '2024-02-29T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2000-02-29T23:59:59.9999Z',
      '2026-06-01T24:00:00Z',
      '0999-12-31T00:00:00Z',
    ])
      expect(parseIsoTime(text)).toBe(reference(text));
  });

  it.each([
    'garbage',
    '',
    '12:00',
    '12:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-06-01 12:00:00',
    'Mon, 01 Jun 2026 12:00:00 GMT',
    ' 2026-06-01T12:00:00Z',
  ])('refuses %j', (text) => {
    expect(parseIsoTime(text)).toBeUndefined();
  });

  it.each([undefined, null, 1_780_315_200_000, {}, ['2026-06-01T12:00:00Z']])(
    'refuses a non-string (%p)',
    (v) => {
      expect(parseIsoTime(v)).toBeUndefined();
    },
  );

  it('agrees with luxon (UTC default) on every canonical-looking string, valid or not', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const text = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')),
        two(13),
        two(32),
        two(24),
        two(60),
        two(61),
        fc.option(fc.stringMatching(/^\.\d{1,9}$/), { nil: undefined }),
        fc.constantFrom('Z', '', '+02:00', '-11:30'),
      )
      .map(([y, mo, d, h, mi, s, frac, zone]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${frac ?? ''}${zone}`);
    fc.assert(
      fc.property(text, (value) => {
        const luxon = DateTime.fromISO(value, { zone: 'utc' });
        expect(parseIsoTime(value)).toBe(luxon.isValid ? luxon.toMillis() : undefined);
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads a time without a zone as UTC on a Europe/Paris host too (checked in a child process)', () => {
    // Jest gives each test file its own process.env: setting TZ here would not change the
    // zone V8 uses. A child node process with TZ set does.
    // The parser and the module it imports, compiled side by side (luxon comes from NODE_PATH).
    const dir = mkdtempSync(join(tmpdir(), 'iso-time-tz-'));
    for (const name of ['iso-time', 'date-fields']) {
      const source = readFileSync(join(ROOT, `trigger_fetch_new_logs/${name}.ts`), 'utf8');
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      writeFileSync(join(dir, `${name}.js`), js);
    }
    const probe = `
      const { parseIsoTime } = require(${JSON.stringify(join(dir, 'iso-time.js'))});
      console.log(JSON.stringify({
        zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        offsetMinutes: new Date(Date.UTC(2026, 5, 1)).getTimezoneOffset(),
        hostLocal: Date.parse('2026-06-01T12:00:00'),
        zoneless: parseIsoTime('2026-06-01T12:00:00'),
        zonelessMs: parseIsoTime('2026-06-01T12:00:00.250'),
        utc: parseIsoTime('2026-06-01T12:00:00Z'),
      }));`;
    const output = execFileSync(process.execPath, ['-e', probe], {
      env: { ...process.env, TZ: 'Europe/Paris', NODE_PATH: join(ROOT, 'node_modules') },
      encoding: 'utf8',
    });
    const seen = JSON.parse(output) as Record<string, unknown>;
    // The child really runs in Paris: summer time, two hours ahead of UTC.
    expect(seen.zone).toBe('Europe/Paris');
    expect(seen.offsetMinutes).toBe(-120);
    expect(seen.hostLocal).toBe(Date.UTC(2026, 5, 1, 10));
    // ...and the parser still reads the zone-less time as UTC.
    expect(seen.zoneless).toBe(Date.UTC(2026, 5, 1, 12));
    expect(seen.zonelessMs).toBe(Date.UTC(2026, 5, 1, 12, 0, 0, 250));
    expect(seen.utc).toBe(Date.UTC(2026, 5, 1, 12));
  });
});
