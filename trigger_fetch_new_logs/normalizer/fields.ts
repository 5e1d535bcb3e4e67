import { dateTimeFields, digitsAt, isDigit } from '../date-fields';

/**
 * Safe readers over untrusted JSON. A TMES record is whatever the API sent: every reader returns
 * a value of the expected type or `undefined`, and never throws. A value that is present but of
 * the wrong type is remembered as a problem, so the document can say what was ignored instead
 * of silently losing it.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "a string", "an array", "null": for messages about unexpected values. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' || type === 'undefined' ? `an ${type}` : `a ${type}`;
}

/** Reads typed fields from one JSON object; wrong types are collected in `problems`. */
export class FieldReader {
  constructor(
    private readonly source: JsonObject,
    /** Shared with nested readers so one record reports all its problems together. */
    readonly problems: string[] = [],
    private readonly prefix = '',
  ) {}

  /** A non-empty string. An empty string says nothing, so it is treated as absent. */
  string(key: string): string | undefined {
    const value = this.source[key];
    if (typeof value === 'string') return value === '' ? undefined : value;
    this.mismatch(key, value, 'a string');
    return undefined;
  }

  /** The non-empty strings of an array; a lone string counts as a one-item list. */
  strings(key: string): string[] | undefined {
    const value = this.source[key];
    if (typeof value === 'string') return value === '' ? undefined : [value];
    if (!Array.isArray(value)) {
      this.mismatch(key, value, 'an array of strings');
      return undefined;
    }
    const out: string[] = [];
    let skipped = false;
    for (const item of value) {
      if (typeof item === 'string') {
        if (item !== '') out.push(item);
      } else if (item !== null) skipped = true;
    }
    if (skipped) this.problems.push(`${this.prefix}${key} (items that are not strings were ignored)`);
    return out.length === 0 ? undefined : out;
  }

  /** A non-negative safe integer; a string of digits is accepted too (some exports quote numbers). */
  count(key: string): number | undefined {
    return this.numeric(key, 'a non-negative integer', isDigits, (n) => Number.isSafeInteger(n) && n >= 0);
  }

  /** A finite number, or a string holding one (TMES sends riskLevel as "3"). */
  number(key: string): number | undefined {
    return this.numeric(key, 'a number', (text) => text.trim() !== '', Number.isFinite);
  }

  /** A number `valid` accepts, sent as a number or as text that `readable` accepts. */
  private numeric(
    key: string,
    expected: string,
    readable: (text: string) => boolean,
    valid: (n: number) => boolean,
  ): number | undefined {
    const value = this.source[key];
    if (typeof value === 'number' && valid(value)) return value;
    if (typeof value === 'string' && readable(value)) {
      const parsed = Number(value);
      if (valid(parsed)) return parsed;
    }
    this.mismatch(key, value, expected);
    return undefined;
  }

  /** An ISO-8601 date-time, kept as written (with `Z` added when the zone is missing: TMES times are UTC). */
  date(key: string): string | undefined {
    const value = this.source[key];
    if (typeof value === 'string') {
      const date = isoDateTime(value);
      if (date !== undefined) return date;
    }
    this.mismatch(key, value, 'an ISO-8601 date-time');
    return undefined;
  }

  /** The objects of an array, each wrapped in a reader that reports into the same problem list. */
  objects(key: string): FieldReader[] | undefined {
    const value = this.source[key];
    if (!Array.isArray(value)) {
      this.mismatch(key, value, 'an array of objects');
      return undefined;
    }
    const out: FieldReader[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (isObject(item)) out.push(new FieldReader(item, this.problems, `${this.prefix}${key}[${i}].`));
      else if (item !== null) this.problems.push(`${this.prefix}${key}[${i}] (expected an object)`);
    }
    return out.length === 0 ? undefined : out;
  }

  /** A nested object, as a reader reporting into the same problem list. */
  object(key: string): FieldReader | undefined {
    const value = this.source[key];
    if (isObject(value)) return new FieldReader(value, this.problems, `${this.prefix}${key}.`);
    this.mismatch(key, value, 'an object');
    return undefined;
  }

  /** The value as sent, for fields whose type decides how they are read. */
  value(key: string): unknown {
    return this.source[key];
  }

  /** Whether the key holds anything at all (null counts as nothing). */
  has(key: string): boolean {
    const value = this.source[key];
    return value !== undefined && value !== null;
  }

  /** Absent and null are normal (fields are optional); anything else of the wrong type is a problem. */
  private mismatch(key: string, value: unknown, expected: string): void {
    if (value !== undefined && value !== null) {
      this.problems.push(`${this.prefix}${key} (expected ${expected}, got ${describeType(value)})`);
    }
  }
}

function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// Date.parse alone accepts "1", "2023-02-30" and "24:00", which Elasticsearch and JSON Schema's
// date-time reject: check the shape and the ranges by hand (cheaper than a regex per record).

/** `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` → the same text (zone `Z` appended when missing), else undefined. */
export function isoDateTime(text: string): string | undefined {
  if (text.length < 19 || text.length > 40) return undefined;
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':') return undefined;
  if (text[10] !== 'T' && text[10] !== 't') return undefined;
  if (dateTimeFields(text) === undefined) return undefined;
  let i = 19;
  if (text[i] === '.') {
    const start = ++i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    if (i === start) return undefined;
  }
  if (i === text.length) return `${text}Z`;
  const zone = text.slice(i);
  if (zone === 'Z' || zone === 'z') return text;
  if (zone.length === 6 && (zone.startsWith('+') || zone.startsWith('-')) && zone[3] === ':') {
    const zoneHour = digitsAt(zone, 1, 2);
    const zoneMinute = digitsAt(zone, 4, 2);
    if (zoneHour >= 0 && zoneHour <= 23 && zoneMinute >= 0 && zoneMinute <= 59) return text;
  }
  return undefined;
}
