import type { AxiosResponse } from 'axios';
import { AuthenticationError, ResponseError, TransientError, isAbort, type HttpFacts } from './errors';
import { NetworkFailure, excerpt, isRetryableNetworkError } from './http';
import { Redactor } from './logger';
import { failure, isRetryableStatus, parseRetryAfter, retryable, type RetryDecision } from './retry';
import { abortError, type Clock } from './time';

/**
 * One HTTP exchange: a request, and what its answer (or its failure) means. Every HTTP caller of
 * this runtime and its modules goes through here, so a 401, a 503 with Retry-After, a reset
 * connection or an HTML error page means the same thing everywhere, and no error built here ever
 * holds the request (axios errors carry its headers, credentials included) or a header.
 */

/** An answer as the caller's rules see it: status, body text, and the headers it asks for by name. */
export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  /** One header's value (lower-case name); the headers themselves never reach an error. */
  header(name: string): string | undefined;
}

export interface ExchangeRules<T> {
  /** Who answers, at the start of messages: "The secrets API", "accepted_traffic: the Trend Micro API". */
  readonly peer: string;
  /** What the user should check, appended to the messages of failures they can act on. */
  readonly hint?: string;
  /** The setting the hint is about, carried by the errors (ConfigurationError-style `field`). */
  readonly field?: string;
  /** The message and field of a 401/403: they name the credential to fix. */
  readonly unauthorized: {
    readonly message: (status: number, detail: string) => string;
    readonly field?: string;
  };
  /** Reads Retry-After dates against this clock. */
  readonly clock: Clock;
  /** Values never shown in an excerpt (a peer may echo a key back). */
  readonly secrets?: readonly string[];
  /**
   * How a failed answer's body reads in a message: `: "excerpt"` by default, or e.g. an API's own
   * error code and text. It is given the body's first 2,000 characters, secrets already hidden.
   */
  readonly detail?: (text: string) => string;
  /** The caller's own rules, consulted first for every answer: a decision, or undefined for the common ones. */
  readonly special?: (answer: HttpAnswer) => RetryDecision<T> | undefined;
  /** Reads a 2xx answer (the caller's body shape); see `malformed` for bodies it cannot read. */
  readonly accept: (answer: HttpAnswer) => RetryDecision<T>;
}

/** Transport failures where the request provably never left (nothing to duplicate on a retry). */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
/** Gateway answers: the peer behind the gateway may have received, and acted on, the request. */
const LOST_ANSWER_STATUSES = new Set([502, 504]);

/**
 * Sends `request` and turns what happened into a retry decision. An abort (of `signal`) is thrown
 * as an AbortError; every other failure is a decision whose error is a SekoiaError with `http` facts.
 */
export async function exchange<T>(
  request: () => Promise<AxiosResponse<unknown>>,
  rules: ExchangeRules<T>,
  signal?: AbortSignal,
): Promise<RetryDecision<T>> {
  let response: AxiosResponse<unknown>;
  try {
    response = await request();
  } catch (error) {
    if (isAbort(error, signal)) throw abortError();
    return classifyFailure(error, rules);
  }
  return classifyAnswer(answerOf(response), rules);
}

/** A transport failure (no answer): a TransientError whose cause is a safe NetworkFailure. */
export function classifyFailure(
  error: unknown,
  rules: Pick<ExchangeRules<unknown>, 'peer' | 'hint'>,
): RetryDecision<never> {
  const cause = new NetworkFailure(error);
  const kind = cause.code !== undefined && NEVER_SENT_CODES.has(cause.code) ? 'unreachable' : 'lost';
  const http: HttpFacts = cause.code === undefined ? { kind } : { kind, code: cause.code };
  const problem = new TransientError(
    `${rules.peer} could not be reached (${cause.message}).${tail(rules.hint)}`,
    {
      cause,
      http,
    },
  );
  return isRetryableNetworkError(error) ? retryable(problem) : failure(problem);
}

/** An answer: the caller's special rules, then 2xx → accept, then the common rules by status. */
export function classifyAnswer<T>(answer: HttpAnswer, rules: ExchangeRules<T>): RetryDecision<T> {
  const special = rules.special?.(answer);
  if (special !== undefined) return special;
  const { status } = answer;
  if (status >= 200 && status < 300) return rules.accept(answer);
  const facts = factsOf(answer, rules, kindOfStatus(status));
  const detail = (rules.detail ?? quoted)(redacted(answer.text, rules.secrets));
  if (facts.kind === 'unauthorized') {
    const { message, field } = rules.unauthorized;
    return failure(new AuthenticationError(message(status, detail), { http: facts, ...fieldOption(field) }));
  }
  const message = `${rules.peer} answered HTTP ${status}${detail}.`;
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfter(answer.header('retry-after'), rules.clock.now());
    const options = retryAfterMs === undefined ? { http: facts } : { http: facts, retryAfterMs };
    return retryable(new TransientError(message, options), retryAfterMs);
  }
  return failure(
    new ResponseError(`${message}${tail(rules.hint)}`, { status, http: facts, ...fieldOption(rules.field) }),
  );
}

/**
 * A 2xx whose body the caller cannot read (HTML from a proxy, a wrong shape): a ResponseError with
 * the facts. Whether it is retried is the caller's call, made with `retryable` or `failure`.
 */
export function malformed<T>(
  message: string,
  answer: HttpAnswer,
  rules: ExchangeRules<T>,
  options: { quote?: boolean } = {},
): ResponseError {
  const facts = factsOf(answer, rules, 'malformed');
  // A body that may hold secrets in an unexpected shape is not quoted, even redacted.
  const http = options.quote === false ? { kind: facts.kind, status: answer.status } : facts;
  return new ResponseError(message, { status: answer.status, http, ...fieldOption(rules.field) });
}

/** The body parsed as JSON, or undefined when it is not JSON (an empty body is not JSON either). */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

/** The short excerpt of a body that messages quote: one line, ≤ 200 characters, secrets hidden. */
export function safeExcerpt(text: string, secrets: readonly string[] = [], max = 200): string {
  return excerpt(redacted(text, secrets), max);
}

function redacted(text: string, secrets: readonly string[] = []): string {
  return new Redactor(secrets).redact(text.slice(0, 2_000));
}

export function kindOfStatus(status: number): HttpFacts['kind'] {
  if (status === 401 || status === 403) return 'unauthorized';
  if (LOST_ANSWER_STATUSES.has(status)) return 'lost';
  if (status === 429) return 'throttled';
  if (isRetryableStatus(status)) return 'unavailable';
  return 'rejected';
}

function answerOf(response: AxiosResponse<unknown>): HttpAnswer {
  const { status, headers } = response;
  return {
    status,
    text: bodyText(response.data),
    header: (name) => {
      const value: unknown = (headers as Record<string, unknown>)[name];
      return typeof value === 'string' ? value : undefined;
    },
  };
}

function factsOf(
  answer: HttpAnswer,
  rules: { readonly secrets?: readonly string[] },
  kind: HttpFacts['kind'],
): HttpFacts {
  return { kind, status: answer.status, excerpt: safeExcerpt(answer.text, rules.secrets) };
}

function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return data === undefined || data === null ? '' : JSON.stringify(data);
}

function quoted(text: string): string {
  const short = excerpt(text);
  return short === '' ? '' : `: "${short}"`;
}

function tail(hint: string | undefined): string {
  return hint === undefined ? '' : ` ${hint}`;
}

function fieldOption(field: string | undefined): { field?: string } {
  return field === undefined ? {} : { field };
}
