import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../schemas/checkpoint-head.schema.json';
import { parseIsoTime } from './iso-time';

/**
 * The stored shape of a version-3 head, as schemas/checkpoint-head.schema.json describes it
 * (times are ISO strings there, epoch ms in memory).
 */
export interface StoredRange {
  start: string;
  end: string;
}

export interface StoredStream {
  cursor: string;
  window?: StoredRange;
  rereads: (StoredRange & { pass: number })[];
  setAside: (StoredRange & { error: string; attempts: number; retryAt: string })[];
}

export interface StoredHead {
  version: 3;
  streams: Partial<Record<string, StoredStream>>;
}

/** What is wrong with a document, one line per problem, each naming its field and the fix. */
export type HeadCheck = { ok: true; head: StoredHead } | { ok: false; problems: string[] };

/**
 * Checks a version-3 head against its schema. Built once per CheckpointBook (ajv compiles the
 * schema into a function: a few milliseconds, paid on load, never per commit).
 */
export class CheckpointHeadSchema {
  private readonly check: ValidateFunction;

  constructor() {
    const ajv = new Ajv({ allErrors: true, strict: true });
    // "date-time" as this module reads times everywhere (luxon, strict ISO 8601, zone-less = UTC),
    // so the schema accepts exactly what the parser after it can read.
    ajv.addFormat('date-time', { type: 'string', validate: (text) => parseIsoTime(text) !== undefined });
    this.check = ajv.compile(schema);
  }

  validate(document: unknown): HeadCheck {
    if (this.check(document)) {
      const head = document as StoredHead;
      const reversed = reversedRanges(head);
      return reversed.length === 0 ? { ok: true, head } : { ok: false, problems: reversed };
    }
    return { ok: false, problems: [...new Set((this.check.errors ?? []).map(describe))] };
  }
}

/** JSON Schema cannot compare two fields: a range whose end is before its start is refused here. */
function reversedRanges(head: StoredHead): string[] {
  const problems: string[] = [];
  for (const [name, stream] of Object.entries(head.streams)) {
    if (stream === undefined) continue;
    const ranges: [string, StoredRange][] = [
      ...(stream.window === undefined
        ? []
        : [[`streams.${name}.window`, stream.window] as [string, StoredRange]]),
      ...stream.rereads.map((r, i): [string, StoredRange] => [`streams.${name}.rereads[${i}]`, r]),
      ...stream.setAside.map((r, i): [string, StoredRange] => [`streams.${name}.setAside[${i}]`, r]),
    ];
    for (const [field, range] of ranges) {
      if (storedTime(range.end) < storedTime(range.start))
        problems.push(`"${field}" ends before it starts: "end" must not be before "start"`);
    }
  }
  return problems;
}

/** Epoch ms of a time the schema accepted (its "date-time" format is parseIsoTime). */
export function storedTime(text: string): number {
  const ms = parseIsoTime(text);
  if (ms === undefined)
    throw new TypeError(`"${text}" was not checked as a date-time by the checkpoint schema`);
  return ms;
}

/** One problem in words: the field as a path (`streams.accepted_traffic.rereads[0].pass`) and what it must be. */
function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const field = pathOf(error.instancePath);
  const at = field === '' ? 'the document' : `"${field}"`;
  const child = (name: unknown): string => `"${field === '' ? '' : `${field}.`}${String(name)}"`;
  switch (error.keyword) {
    case 'required':
      return `${child(params.missingProperty)} is missing`;
    case 'additionalProperties':
      return `${child(params.additionalProperty)} is not a field of this document: remove it (or fix its spelling)`;
    case 'propertyNames':
      return `${at} names an unknown stream ${JSON.stringify(params.propertyName)}: the streams are ${listOf(schema.definitions.streamName.enum)}`;
    case 'enum':
      return `${at} must be one of ${listOf(params.allowedValues as unknown[])}`;
    case 'const':
      return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    case 'format':
      return `${at} is not an ISO 8601 time (e.g. 2026-01-01T00:00:00Z)`;
    case 'type':
      return `${at} must be ${article(String(params.type))}`;
    case 'minimum':
      return `${at} must be ${String(params.limit)} or more`;
    default:
      return `${at} ${error.message ?? 'is invalid'}`;
  }
}

/** `/streams/accepted_traffic/rereads/0/pass` → `streams.accepted_traffic.rereads[0].pass`. */
function pathOf(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path === '' ? s : `${path}.${s}`), '');
}

function article(type: string): string {
  const words: Record<string, string> = {
    object: 'an object',
    array: 'a list',
    integer: 'a whole number',
    string: 'a text',
  };
  return words[type] ?? `a ${type}`;
}

function listOf(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}
