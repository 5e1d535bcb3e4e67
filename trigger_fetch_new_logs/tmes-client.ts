import { createHash } from 'node:crypto';
import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  ConfigurationError,
  NetworkFailure,
  PAGE_RETRY,
  Redactor,
  ResponseError,
  TransientError,
  exchange,
  excerpt,
  failure,
  isFatal,
  malformed,
  parseJson,
  retry,
  retryable,
  safeExcerpt,
  success,
  type BackoffPolicy,
  type Clock,
  type ExchangeRules,
  type HttpAnswer,
  type HttpFacts,
  type Logger,
  type RetryDecision,
  type Sleep,
} from '@sekoia/automation-sdk-shim';
import type { PageAttemptObserver } from './api-stall-watch';
import { decodeBodyBytes } from './page-body';
import type { ServerTime } from './server-time';
import type { StreamDefinition, StreamName } from './streams';
import type { WindowPage } from './window-page';
import { DEFAULT_TOKEN_POLICY, WindowRead, type PageAnswer, type TokenPolicy } from './window-read';

/** A time range, epoch milliseconds, both bounds inclusive (as the API treats them). */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export interface TmesClientOptions {
  baseUrl: string;
  username: string;
  apiKey: string;
  http: AxiosInstance;
  clock: Clock;
  sleep: Sleep;
  logger: Logger;
  random?: () => number;
  /** Retry budget of one page request before the error goes up to the stream. */
  policy?: BackoffPolicy;
  /** A window whose pagination goes on longer than this is a broken API, not data. */
  maxPagesPerWindow?: number;
  /** Told the `Date` of every answer, so windows never end after the server's present. */
  serverTime?: ServerTime;
  /** How page tokens are held, and when a read restarts (see WindowRead). */
  tokenPolicy?: Partial<TokenPolicy>;
  /** Told how every page request went (the stall watch). */
  observer?: PageAttemptObserver;
}

/** One page, as fetchPage returns it: its records and the next page's token, if any. */
export interface Page {
  logs: unknown[];
  nextToken: string | undefined;
}

/** The probe must not hold the start of collection for the HTTP client's full timeout. */
const PROBE_TIMEOUT_MS = 20_000;

/**
 * The TMES log API: Basic auth (Login ID : API key), gzip, every page of a window, errors
 * classified into the shim's error classes so the stream can decide (retry, stop, report).
 * No error it throws carries the request (whose Authorization header holds the API key): causes
 * are safe summaries (NetworkFailure, status).
 */
export class TmesClient {
  private readonly authorization: string;
  private readonly tokenPolicy: TokenPolicy;

  constructor(private readonly options: TmesClientOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.apiKey}`).toString('base64')}`;
    this.tokenPolicy = { ...DEFAULT_TOKEN_POLICY, ...options.tokenPolicy };
  }

  /**
   * Every page of `window`, following `nextToken` to the end (an empty page with a token goes
   * on). When the read restarts from the window's start (a token held too long, refused, or
   * answered with nothing after a pause), the next page says so with `restart: true`.
   * `holdClock`: the clock a token's hold is measured on (a gate stops it while the read waits
   * for a permit; see TokenHoldClock); absent, the client's clock.
   */
  async *pages(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    signal: AbortSignal,
    holdClock: Clock = this.options.clock,
  ): AsyncGenerator<WindowPage, void, undefined> {
    const { clock } = this.options;
    const read = new WindowRead(stream.name, this.tokenPolicy, this.options.maxPagesPerWindow ?? 100_000);
    for (;;) {
      const next = read.nextToken(holdClock.now());
      if (next.restarted !== undefined) this.logRestart(stream, window, next.restarted, 'info');
      const answer = await this.fetchAnswer(stream, window, pageSize, next.token, signal);
      const step = read.accept(answer, clock.now(), holdClock.now());
      if (step.restarted !== undefined) this.logRestart(stream, window, step.restarted, 'warning');
      if (step.page !== undefined) yield step.page;
      if (step.done) return;
    }
  }

  /** One page request, retried on throttling, server errors, network errors and garbled bodies. */
  async fetchPage(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<Page> {
    const answer = await this.fetchAnswer(stream, window, pageSize, token, signal);
    if (answer.kind === 'end') return { logs: [], nextToken: undefined };
    if (answer.kind === 'page') return { logs: answer.logs, nextToken: answer.nextToken };
    throw new ResponseError(
      `${stream.name}: the page token was refused (HTTP ${answer.status}${answer.detail}).`,
      {
        status: answer.status,
      },
    );
  }

  /**
   * One request, no retry, for its `Date` header: it tells `serverTime` the server's clock
   * before the first window is planned. Resolves true when an answer (any status) came back.
   */
  async probe(stream: StreamDefinition, signal: AbortSignal): Promise<boolean> {
    const now = this.options.clock.now();
    const window = { start: now - 61_000, end: now - 60_000 };
    const probeSignal = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
    try {
      const { response } = await this.request(stream, window, 1, undefined, probeSignal);
      this.options.serverTime?.observe(response.headers.date);
      return typeof response.headers.date === 'string';
    } catch (error) {
      signal.throwIfAborted();
      const cause = new NetworkFailure(error);
      const why = probeSignal.aborted ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : cause.message;
      throw new TransientError(`${stream.name}: the Trend Micro API could not be reached (${why}).`, {
        cause,
      });
    }
  }

  private fetchAnswer(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<PageAnswer> {
    const { clock, sleep, random, logger } = this.options;
    return retry(() => this.attempt(stream, window, pageSize, token, signal), {
      clock,
      sleep,
      signal,
      policy: this.options.policy ?? PAGE_RETRY,
      ...(random === undefined ? {} : { random }),
      onRetry: (error, n, delayMs) => {
        logger.log('warning', `${error.message} Retrying in ${Math.ceil(delayMs / 1000)} s.`, {
          stream: stream.name,
          attempt: n + 1,
        });
      },
    });
  }

  private async attempt(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<RetryDecision<PageAnswer>> {
    const sentAt = this.options.clock.now();
    const context: RequestContext = { token, sentAt, bytes: undefined };
    const request = async (): Promise<AxiosResponse<string>> => {
      const { response, bytes } = await this.request(stream, window, pageSize, token, signal);
      context.bytes = bytes;
      this.options.serverTime?.observe(response.headers.date);
      return response;
    };
    const decision = await exchange(request, this.rules(stream.name, context), signal);
    this.report(stream.name, decision, sentAt);
    return decision;
  }

  /** What is Trend Micro's own: 204, token refusals, 404 = Log Retrieval disabled, the page body. */
  private rules(stream: StreamName, context: RequestContext): ExchangeRules<PageAnswer> {
    const rules: ExchangeRules<PageAnswer> = {
      peer: `${stream}: the Trend Micro API`,
      clock: this.options.clock,
      secrets: [this.options.apiKey, this.authorization],
      detail: apiMessage,
      unauthorized: {
        message: (status, detail) =>
          `${stream}: the Trend Micro API refused the credentials (HTTP ${status}${detail}). "username" must be the console Login ID and "api_key" a current key from Administration > Service Integration > API Access.`,
      },
      special: (answer) => special(stream, answer, context, new Redactor(rules.secrets)),
      accept: (answer) => parsePage(stream, answer, context, rules),
    };
    return rules;
  }

  /** Tells the observer: an answer it can use, or a fatal one, means the API is reachable. */
  private report(stream: StreamName, decision: RetryDecision<PageAnswer>, sentAt: number): void {
    const { observer } = this.options;
    if (observer === undefined) return;
    if (decision.kind === 'success' || (decision.kind === 'failure' && isFatal(decision.error))) {
      observer.succeeded(stream);
      return;
    }
    const { error } = decision;
    if (error.cause instanceof NetworkFailure) {
      observer.failed(stream, { kind: 'network', network: error.cause.kind, code: error.cause.code });
      return;
    }
    const status = (error as { http?: HttpFacts }).http?.status;
    // When it was sent and its Retry-After: the stream's adaptive concurrency reacts to throttling.
    const retryAfterMs = decision.kind === 'retryable' ? decision.afterMs : undefined;
    observer.failed(stream, status === 200 ? { kind: 'body' } : { kind: 'status', status: status ?? 0 }, {
      sentAt,
      retryAfterMs,
    });
  }

  /** One request; the answer's body decoded to text (and the bytes it was read from). */
  private async request(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<{ response: AxiosResponse<string>; bytes: Buffer }> {
    // The body as bytes, decoded here in one call: axios's streaming gunzip hands a page over
    // in 16 KiB pieces, each a callback and a copy on the event loop (about 5 % of the trigger's
    // CPU on a fast API), then joins and decodes them again.
    const response = await this.options.http.get<unknown>(this.url(stream, window, pageSize, token), {
      headers: { Authorization: this.authorization, Accept: 'application/json', 'Accept-Encoding': 'gzip' },
      signal,
      responseType: 'arraybuffer',
      decompress: false,
    });
    let decoded: { text: string; bytes: Buffer };
    try {
      decoded = decodeBodyBytes(response.data, response.headers['content-encoding']);
    } catch (error) {
      // An error answer whose body does not decode (a proxy's page under a wrong header) is
      // still that error: its status and Retry-After decide (a 401 is an authentication
      // failure, not a transport one). A 2xx one throws: read as empty, it would end the window.
      if (response.status >= 200 && response.status < 300) throw error;
      decoded = { text: '', bytes: Buffer.alloc(0) };
    }
    return { response: { ...response, data: decoded.text }, bytes: decoded.bytes };
  }

  private logRestart(
    stream: StreamDefinition,
    window: TimeWindow,
    reason: string,
    level: 'info' | 'warning',
  ): void {
    this.options.logger.log(
      level,
      `${stream.name}: reading the window ${new Date(window.start).toISOString()} – ${new Date(window.end).toISOString()} again from its start: ${reason}. Records already delivered are not sent twice.`,
      { stream: stream.name },
    );
  }

  private url(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
  ): string {
    const query = new URLSearchParams({
      ...stream.params,
      start: new Date(window.start).toISOString(),
      end: new Date(window.end).toISOString(),
      limit: String(pageSize),
    });
    // URLSearchParams encodes `+ / =`; pasted raw, a `+` would arrive as a space.
    if (token !== undefined) query.set('token', decodeToken(token));
    return `${this.options.baseUrl}${stream.path}?${query.toString()}`;
  }
}

/** Tokens may arrive URL-encoded; decode once so re-encoding does not double-encode. */
export function decodeToken(token: string): string {
  if (!/%[0-9A-Fa-f]{2}/.test(token)) return token;
  try {
    return decodeURIComponent(token);
  } catch {
    return token;
  }
}

/** The request an answer belongs to: whether it carried a token, when it was sent. */
interface RequestContext {
  token: string | undefined;
  sentAt: number;
  /** The answer's body as decoded bytes, once it came (the page digest is taken from them). */
  bytes: Buffer | undefined;
}

/** Token requests refused with these statuses: the token is no good, the credentials may be fine. */
const TOKEN_REFUSALS = new Set([400, 401, 403]);

/** The answers that mean something of their own at Trend Micro (undefined: the common rules). */
function special(
  stream: string,
  answer: HttpAnswer,
  request: RequestContext,
  redactor: Redactor,
): RetryDecision<PageAnswer> | undefined {
  const { status } = answer;
  const { sentAt } = request;
  if (status === 204) return success({ kind: 'end', sentAt });
  // The API's words go into messages: never an echo of the key.
  const detail = (): string => apiMessage(redactor.redact(answer.text));
  // An expired or refused token is not a wrong key: only a request without one can say that.
  if (request.token !== undefined && TOKEN_REFUSALS.has(status)) {
    return success({ kind: 'refused', status, detail: detail(), sentAt });
  }
  if (status === 404) {
    return failure(
      new ConfigurationError(
        `${stream}: the log API answered 404${detail()}. Enable Log Retrieval under Administration > Service Integration > Log Retrieval in the Trend Micro Email Security console, and check that "service_url" is your region's API host.`,
        { field: 'service_url' },
      ),
    );
  }
  return undefined;
}

function parsePage(
  stream: string,
  answer: HttpAnswer,
  context: RequestContext,
  rules: ExchangeRules<PageAnswer>,
): RetryDecision<PageAnswer> {
  const { sentAt } = context;
  const { text } = answer;
  if (text.trim() === '') return success({ kind: 'end', sentAt });
  const parsed = parseJson(text);
  if (parsed === undefined) {
    const type = answer.header('content-type') ?? 'no content-type';
    const quote = safeExcerpt(text, rules.secrets, 120);
    return retryable(
      malformed(
        `${stream}: the API answered 200 with a body that is not JSON (${type}): "${quote}".`,
        answer,
        rules,
      ),
    );
  }
  const body = parsed.value;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return retryable(
      malformed(`${stream}: the API answered 200 with JSON that is not an object.`, answer, rules),
    );
  }
  const { logs, nextToken } = body as { logs?: unknown; nextToken?: unknown };
  if (logs !== undefined && logs !== null && !Array.isArray(logs)) {
    const message = `${stream}: the API answered 200 with "logs" that is not an array (${typeof logs}).`;
    return retryable(malformed(message, answer, rules));
  }
  if (nextToken !== undefined && nextToken !== null && typeof nextToken !== 'string') {
    const message = `${stream}: the API answered 200 with a "nextToken" that is not a string.`;
    return retryable(malformed(message, answer, rules));
  }
  const records = logs ?? [];
  const token = typeof nextToken === 'string' && nextToken !== '' ? nextToken : undefined;
  // Trend Micro: "repeat until the nextToken parameter is not returned" — an empty page with
  // a token is not the end.
  if (records.length === 0 && token === undefined) return success({ kind: 'end', sentAt });
  // Of the bytes, not the text: hashing a JS string of a page's size re-encodes it to UTF-8 first.
  const digest = createHash('sha1')
    .update(context.bytes ?? text)
    .digest('base64');
  return success({ kind: 'page', logs: records, nextToken: token, digest, sentAt });
}

/** ` (Code: message)` from a TMES error body, or an excerpt of whatever came back. */
function apiMessage(body: unknown): string {
  const text = typeof body === 'string' ? body : '';
  if (text.trim() === '') return '';
  try {
    const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
    const code = typeof parsed.code === 'string' ? parsed.code : '';
    const message = typeof parsed.message === 'string' ? parsed.message : '';
    // Messages end with a period already; ours add one after the parenthesis or clause.
    if (code !== '' || message !== '') return `: ${code} ${message}`.trimEnd().replace(/\.+$/, '');
  } catch {
    // not JSON: an HTML error page from a proxy, for instance
  }
  return `: "${excerpt(text, 120)}"`;
}
