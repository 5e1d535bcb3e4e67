/**
 * Reads a log request's query string the way the TMES API documents it (tmes-api.md §1.2-1.3):
 * ISO 8601 UTC bounds to the second or millisecond, the 5-minute defaults, `limit`, `token`,
 * and the optional `event` / `direction` / `domain` filters. Problems come back as values.
 */
import type { StreamName, TmesRecord } from './dataset';
import { EVENT_FILTERS } from './dataset-vocabulary';

export interface ApiFailure {
  status: number;
  code: string;
  message: string;
}

export interface LogQuery {
  stream: StreamName;
  /** Requested genTime bounds (inclusive), defaults applied. */
  start: number;
  end: number;
  limit: number | undefined;
  token: string | undefined;
  /** Canonical text of the query a token must match. */
  binding: string;
  filter: ((record: TmesRecord) => boolean) | undefined;
}

const FIVE_MINUTES = 5 * 60_000;
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z$/;
const TIME_CHARACTERS = /^[0-9TZ:.-]*$/;

export const INVALID_FORMAT: ApiFailure = {
  status: 400,
  code: 'InvalidFormat',
  message: 'Invalid request format.',
};

export function isFailure(value: unknown): value is ApiFailure {
  return typeof value === 'object' && value !== null && 'code' in value && 'status' in value;
}

export function parseLogQuery(
  stream: StreamName,
  params: URLSearchParams,
  now: number,
): LogQuery | ApiFailure {
  const start = parseTime(params, 'start');
  if (isFailure(start)) return start;
  const end = parseTime(params, 'end');
  if (isFailure(end)) return end;
  if (start !== undefined && end !== undefined && end < start) {
    return {
      ...INVALID_FORMAT,
      message: 'Invalid request format. The end time is earlier than the start time.',
    };
  }
  const limit = parseLimit(params.get('limit'));
  if (isFailure(limit)) return limit;
  const filters = parseFilters(stream, params);
  if (isFailure(filters)) return filters;
  const [from, to] = defaultWindow(start, end, now);
  return {
    stream,
    start: from,
    end: to,
    limit,
    token: readToken(params.get('token')),
    binding: [stream, start ?? 'default', end ?? 'default', filters.key].join('|'),
    filter: filters.predicate,
  };
}

/** Neither bound: the last 5 minutes; one bound: 5 minutes from (or up to) it. */
function defaultWindow(start: number | undefined, end: number | undefined, now: number): [number, number] {
  if (start !== undefined && end !== undefined) return [start, end];
  if (start !== undefined) return [start, start + FIVE_MINUTES];
  if (end !== undefined) return [end - FIVE_MINUTES, end];
  return [now - FIVE_MINUTES, now];
}

function parseTime(params: URLSearchParams, name: string): number | undefined | ApiFailure {
  const text = params.get(name);
  if (text === null) return undefined;
  if (!TIME_CHARACTERS.test(text)) {
    return { status: 400, code: 'IllegalCharacter', message: `Illegal characters found in ${name}.` };
  }
  const match = ISO_UTC.exec(text);
  if (match === null) return INVALID_FORMAT;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const ms = Number((match[7] ?? '').padEnd(3, '0'));
  const t = Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 2026-02-31 over to March: reject dates that do not exist.
  return new Date(t).toISOString().slice(0, 19) === text.slice(0, 19) ? t : INVALID_FORMAT;
}

function parseLimit(text: string | null): number | undefined | ApiFailure {
  if (text === null) return undefined;
  const limit = /^\d{1,9}$/.test(text) ? Number(text) : 0;
  return limit >= 1 ? limit : INVALID_FORMAT;
}

/**
 * Tokens are base64 and never contain `%`, so a `%XX` left after query decoding means the
 * client encoded the token once more: decode that once. A `+` already turned into a space
 * stays broken, as with the real API.
 */
function readToken(text: string | null): string | undefined {
  if (text === null || text === '') return undefined;
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface Filters {
  key: string;
  predicate: ((record: TmesRecord) => boolean) | undefined;
}

function parseFilters(stream: StreamName, params: URLSearchParams): Filters | ApiFailure {
  const direction = params.get('direction');
  if (direction !== null && direction !== 'in' && direction !== 'out') return INVALID_FORMAT;
  const domain = params.get('domain')?.toLowerCase() ?? null;
  const event = stream === 'policy_events' ? params.get('event') : null;
  const eventTypes = event === null ? undefined : EVENT_FILTERS.get(event);
  if (event !== null && eventTypes === undefined) return INVALID_FORMAT;
  const tests: ((record: TmesRecord) => boolean)[] = [];
  if (direction !== null) tests.push((record) => record.direction === direction);
  if (domain !== null) tests.push((record) => involvesDomain(record, domain));
  if (eventTypes !== undefined) tests.push((record) => eventTypes.has(String(record.eventType)));
  return {
    key: `${direction ?? ''}|${domain ?? ''}|${event ?? ''}`,
    predicate: tests.length === 0 ? undefined : (record) => tests.every((test) => test(record)),
  };
}

function involvesDomain(record: TmesRecord, domain: string): boolean {
  if (record.domainName === domain) return true;
  const addresses = [
    record.sender,
    record.recipient,
    ...(Array.isArray(record.recipients) ? (record.recipients as unknown[]) : []),
  ];
  return addresses.some(
    (address) => typeof address === 'string' && address.toLowerCase().endsWith(`@${domain}`),
  );
}
