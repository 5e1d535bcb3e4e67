import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  AuthenticationError,
  ConfigurationError,
  ResponseError,
  TransientError,
  describeNetworkError,
  excerpt,
  failure,
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  retry,
  retryable,
  success,
  type BackoffPolicy,
  type Clock,
  type Logger,
  type RetryDecision,
  type Sleep,
} from '@sekoia/automation-sdk-shim';
import type { ServerTime } from './server-time';
import type { StreamDefinition } from './streams';

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
}

interface Page {
  logs: unknown[];
  nextToken: string | undefined;
}

const DEFAULT_POLICY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, deadlineMs: 10 * 60_000 };

/**
 * The TMES log API: Basic auth (Login ID : API key), gzip, every page of a window, errors
 * classified into the shim's error classes so the stream can decide (retry, stop, report).
 */
export class TmesClient {
  private readonly authorization: string;

  constructor(private readonly options: TmesClientOptions) {
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.apiKey}`).toString('base64')}`;
  }

  /**
   * Yields the records of every page of `window`, following `nextToken` to the end. A 204,
   * an empty or missing `logs`, or a page without a token ends the window.
   */
  async *pages(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    signal: AbortSignal,
  ): AsyncGenerator<unknown[], void, undefined> {
    const maxPages = this.options.maxPagesPerWindow ?? 100_000;
    let token: string | undefined;
    // A token seen before means the API is going round in circles (A→A, or A→B→A).
    const seen = new Set<string>();
    for (let page = 0; page < maxPages; page++) {
      const result = await this.fetchPage(stream, window, pageSize, token, signal);
      if (result.logs.length > 0) yield result.logs;
      if (result.logs.length === 0 || result.nextToken === undefined) return;
      if (seen.has(result.nextToken) || result.nextToken === token) {
        throw new ResponseError(
          `${stream.name}: the API returned a nextToken it had already returned; the window will be read again.`,
        );
      }
      seen.add(result.nextToken);
      token = result.nextToken;
    }
    throw new ResponseError(
      `${stream.name}: more than ${maxPages} pages in one window; the window will be read again.`,
    );
  }

  /** One page request, retried on throttling, server errors, network errors and garbled bodies. */
  fetchPage(
    stream: StreamDefinition,
    window: TimeWindow,
    pageSize: number,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<Page> {
    const { clock, sleep, random, logger } = this.options;
    return retry(() => this.attempt(stream, window, pageSize, token, signal), {
      clock,
      sleep,
      signal,
      policy: this.options.policy ?? DEFAULT_POLICY,
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
  ): Promise<RetryDecision<Page>> {
    let response: AxiosResponse<string>;
    try {
      response = await this.options.http.get<string>(this.url(stream, window, pageSize, token), {
        headers: { Authorization: this.authorization, Accept: 'application/json', 'Accept-Encoding': 'gzip' },
        signal,
      });
    } catch (error) {
      signal.throwIfAborted();
      const problem = new TransientError(
        `${stream.name}: the Trend Micro API could not be reached (${describeNetworkError(error)}).`,
        { cause: error },
      );
      return isRetryableNetworkError(error) ? retryable(problem) : failure(problem);
    }
    this.options.serverTime?.observe(response.headers.date);
    return classify(stream.name, response, this.options.clock.now());
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

function classify(stream: string, response: AxiosResponse<string>, now: number): RetryDecision<Page> {
  const { status } = response;
  if (status === 200) return parsePage(stream, response);
  if (status === 204) return success({ logs: [], nextToken: undefined });
  const detail = apiMessage(response.data);
  if (status === 401 || status === 403) {
    return failure(
      new AuthenticationError(
        `${stream}: the Trend Micro API refused the credentials (HTTP ${status}${detail}). "username" must be the console Login ID and "api_key" a current key from Administration > Service Integration > API Access.`,
      ),
    );
  }
  if (status === 404) {
    return failure(
      new ConfigurationError(
        `${stream}: the log API answered 404${detail}. Enable Log Retrieval under Administration > Service Integration > Log Retrieval in the Trend Micro Email Security console, and check that "service_url" is your region's API host.`,
        { field: 'service_url' },
      ),
    );
  }
  if (isRetryableStatus(status)) {
    const retryAfter = parseRetryAfter(response.headers['retry-after'], now);
    return retryable(
      new TransientError(`${stream}: the Trend Micro API answered HTTP ${status}${detail}.`, {
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      }),
      retryAfter,
    );
  }
  return failure(
    new ResponseError(`${stream}: the Trend Micro API answered HTTP ${status}${detail}.`, { status }),
  );
}

function parsePage(stream: string, response: AxiosResponse<string>): RetryDecision<Page> {
  const text = typeof response.data === 'string' ? response.data : '';
  if (text.trim() === '') return success({ logs: [], nextToken: undefined });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    const type = String(response.headers['content-type'] ?? 'no content-type');
    return retryable(
      new ResponseError(
        `${stream}: the API answered 200 with a body that is not JSON (${type}): "${excerpt(text, 120)}".`,
        {
          status: 200,
          cause: error,
        },
      ),
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return retryable(
      new ResponseError(`${stream}: the API answered 200 with JSON that is not an object.`, { status: 200 }),
    );
  }
  const { logs, nextToken } = body as { logs?: unknown; nextToken?: unknown };
  if (logs !== undefined && logs !== null && !Array.isArray(logs)) {
    return retryable(
      new ResponseError(
        `${stream}: the API answered 200 with "logs" that is not an array (${typeof logs}).`,
        {
          status: 200,
        },
      ),
    );
  }
  if (nextToken !== undefined && nextToken !== null && typeof nextToken !== 'string') {
    return retryable(
      new ResponseError(`${stream}: the API answered 200 with a "nextToken" that is not a string.`),
    );
  }
  return success({
    logs: logs ?? [],
    nextToken: typeof nextToken === 'string' && nextToken !== '' ? nextToken : undefined,
  });
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
