import { inspect } from 'node:util';
import { AxiosError, type AxiosResponse } from 'axios';
import {
  AuthenticationError,
  ManualClock,
  NetworkFailure,
  ResponseError,
  TransientError,
  exchange,
  failure,
  malformed,
  parseJson,
  success,
  type ExchangeRules,
  type HttpFacts,
  type RetryDecision,
} from '../src';

const KEY = 'sk-live-0123456789abcdef';
const AUTHORIZATION = `Bearer ${KEY}`;
const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));

/** The rules of a made-up JSON API: 2xx bodies must be JSON objects, else retried. */
const rules: ExchangeRules<unknown> = {
  peer: 'The test API',
  hint: 'Check "url".',
  field: 'url',
  clock,
  secrets: [KEY],
  unauthorized: { message: (status) => `The key was refused (HTTP ${status}).`, field: 'key' },
  accept: (answer) => {
    const parsed = parseJson(answer.text);
    return parsed !== undefined && typeof parsed.value === 'object'
      ? success(parsed.value)
      : failure(malformed('not JSON', answer, rules));
  },
};

function response(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): AxiosResponse<unknown> {
  // What axios hands over, request config (with its Authorization header) included.
  const config = { headers: { Authorization: AUTHORIZATION } };
  return { status, statusText: '', data: body, headers, config } as unknown as AxiosResponse<unknown>;
}

/** An axios error as the transport raises it: code, and the whole request config. */
function networkError(code: string): AxiosError {
  const config = { headers: { Authorization: AUTHORIZATION }, url: 'http://127.0.0.1/x' };
  return new AxiosError(`connect ${code}`, code, config as never, {
    _header: `Authorization: ${AUTHORIZATION}`,
  });
}

interface Row {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  code?: string;
  decision: RetryDecision<unknown>['kind'];
  error?: new (...args: never[]) => Error;
  kind?: HttpFacts['kind'];
  afterMs?: number;
  excerpt?: string;
}

const table: [string, Row][] = [
  ['200 JSON', { status: 200, body: '{"a":1}', decision: 'success' }],
  ['204 empty: the caller reads it', { status: 204, body: '', decision: 'failure', kind: 'malformed' }],
  [
    '200 HTML',
    {
      status: 200,
      body: '<html>portal</html>',
      decision: 'failure',
      error: ResponseError,
      kind: 'malformed',
      excerpt: '<html>portal</html>',
    },
  ],
  ['401', { status: 401, body: 'no', decision: 'failure', error: AuthenticationError, kind: 'unauthorized' }],
  ['403', { status: 403, body: '', decision: 'failure', error: AuthenticationError, kind: 'unauthorized' }],
  [
    '429 Retry-After seconds',
    {
      status: 429,
      body: '',
      headers: { 'retry-after': '7' },
      decision: 'retryable',
      error: TransientError,
      kind: 'throttled',
      afterMs: 7_000,
    },
  ],
  [
    '503 Retry-After date',
    {
      status: 503,
      body: 'down',
      headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' },
      decision: 'retryable',
      error: TransientError,
      kind: 'unavailable',
      afterMs: 30_000,
    },
  ],
  [
    '500 no hint',
    { status: 500, body: '', decision: 'retryable', error: TransientError, kind: 'unavailable' },
  ],
  ['408', { status: 408, body: '', decision: 'retryable', error: TransientError, kind: 'unavailable' }],
  ['425', { status: 425, body: '', decision: 'retryable', error: TransientError, kind: 'unavailable' }],
  [
    '502: lost answer',
    { status: 502, body: 'Bad Gateway', decision: 'retryable', error: TransientError, kind: 'lost' },
  ],
  ['504: lost answer', { status: 504, body: '', decision: 'retryable', error: TransientError, kind: 'lost' }],
  [
    '400',
    {
      status: 400,
      body: '{"message":"bad"}',
      decision: 'failure',
      error: ResponseError,
      kind: 'rejected',
      excerpt: '{"message":"bad"}',
    },
  ],
  ['404', { status: 404, body: 'nope', decision: 'failure', error: ResponseError, kind: 'rejected' }],
  ['302', { status: 302, body: '', decision: 'failure', error: ResponseError, kind: 'rejected' }],
  [
    'an echoed key is hidden',
    {
      status: 400,
      body: `bad key ${KEY}`,
      decision: 'failure',
      error: ResponseError,
      kind: 'rejected',
      excerpt: 'bad key ***',
    },
  ],
  [
    'ECONNREFUSED: never sent',
    { code: 'ECONNREFUSED', decision: 'retryable', error: TransientError, kind: 'unreachable' },
  ],
  [
    'ENOTFOUND: never sent',
    { code: 'ENOTFOUND', decision: 'retryable', error: TransientError, kind: 'unreachable' },
  ],
  ['ECONNRESET: lost', { code: 'ECONNRESET', decision: 'retryable', error: TransientError, kind: 'lost' }],
  ['ETIMEDOUT: lost', { code: 'ETIMEDOUT', decision: 'retryable', error: TransientError, kind: 'lost' }],
  [
    'ECONNABORTED (axios timeout): lost',
    { code: 'ECONNABORTED', decision: 'retryable', error: TransientError, kind: 'lost' },
  ],
  [
    'TLS certificate: not retried',
    { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', decision: 'failure', error: TransientError, kind: 'lost' },
  ],
];

describe('exchange: status × body × headers × network code → decision and error', () => {
  it.each(table)('%s', async (_name, row) => {
    const request = (): Promise<AxiosResponse<unknown>> =>
      row.code === undefined
        ? Promise.resolve(response(row.status ?? 0, row.body ?? '', row.headers))
        : Promise.reject(networkError(row.code));

    const decision = await exchange(request, rules);

    expect(decision.kind).toBe(row.decision);
    if (decision.kind === 'success') return;
    if (row.error !== undefined) expect(decision.error).toBeInstanceOf(row.error);
    const http = (decision.error as { http?: HttpFacts }).http;
    expect(http?.kind).toBe(row.kind);
    expect(http?.status).toBe(row.status);
    if (row.excerpt !== undefined) expect(http?.excerpt).toBe(row.excerpt);
    if (decision.kind === 'retryable') expect(decision.afterMs).toBe(row.afterMs);
    if (row.afterMs !== undefined) expect(decision.error).toMatchObject({ retryAfterMs: row.afterMs });
    if (row.code !== undefined) {
      expect(decision.error.cause).toBeInstanceOf(NetworkFailure);
      expect(http?.code).toBe(row.code);
      expect(decision.error.message).toContain(row.code);
    }
    const shown = inspect(decision.error, { showHidden: true, depth: 20 }) + JSON.stringify(decision.error);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toMatch(/authorization/i);
  });

  it('names the setting: field on errors, the credential on 401, the hint on a rejection', async () => {
    const rejected = await exchange(() => Promise.resolve(response(404, 'x')), rules);
    const refused = await exchange(() => Promise.resolve(response(401, 'x')), rules);
    expect(rejected.kind === 'failure' && rejected.error).toMatchObject({ field: 'url', status: 404 });
    expect(rejected.kind === 'failure' && rejected.error.message).toBe(
      'The test API answered HTTP 404: "x". Check "url".',
    );
    expect(refused.kind === 'failure' && refused.error).toMatchObject({
      field: 'key',
      message: 'The key was refused (HTTP 401).',
    });
  });

  it("runs the caller's special rules first", async () => {
    const special: ExchangeRules<unknown> = {
      ...rules,
      special: (answer) => (answer.status === 404 ? success('disabled') : undefined),
    };
    expect(await exchange(() => Promise.resolve(response(404, '')), special)).toEqual(success('disabled'));
    expect((await exchange(() => Promise.resolve(response(500, '')), special)).kind).toBe('retryable');
  });

  it('throws an AbortError, never the axios error, when the signal aborted', async () => {
    const stop = new AbortController();
    stop.abort();
    const error: unknown = await exchange(
      () => Promise.reject(networkError('ERR_CANCELED')),
      rules,
      stop.signal,
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(inspect(error, { showHidden: true })).not.toContain(KEY);
  });
});
