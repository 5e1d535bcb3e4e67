/**
 * What the TMES simulator can be told to do. Every switch defaults to the behaviour the
 * simulator had before it existed, so a test only names the behaviours it is about. Each
 * undocumented behaviour of the real API (tmes-api.md §1.6) gets a switch, so a collector can
 * be tested against every plausible answer to the unknowns.
 */
import type { Clock } from '@sekoia/automation-sdk-shim';

export interface FaultOptions {
  rate429?: number;
  retryAfterSeconds?: number;
  rate500?: number;
  /**
   * Destroy the socket without an answer. With `tokenStyle: 'handle'` the server has already
   * advanced the read's cursor when the answer is lost (the page is gone for the client).
   */
  rateDrop?: number;
  rateHtml502?: number;
  /** 200 with the JSON page cut in half (only when the answer would have been a page). */
  rateTruncated?: number;
  seed?: number;
}

export interface ScriptedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  destroy?: boolean;
}

/** One slice of the indexing-delay distribution: `share` of the records wait [minMs, maxMs]. */
export interface VisibilityBucket {
  /** Relative weight (shares are normalised by their sum). */
  share: number;
  minMs: number;
  /** Inclusive. */
  maxMs: number;
}

/**
 * Unknown: how long after it is generated a log becomes listable (indexing latency). Each
 * record draws its own delay from the buckets, deterministically from the seed and its
 * insertion sequence, e.g. 70 % 0–5 s, 25 % 5–120 s, 5 % 2–20 min.
 */
export interface VisibilityOptions {
  buckets: readonly VisibilityBucket[];
}

/** Unknown: whether the API throttles. A token bucket per tenant on the simulator's clock. */
export interface RateLimitOptions {
  /** Refill rate and burst size (Infinity lifts the limit). */
  requestsPerSecond: number;
  /** Retry-After sent with the 429 (default: the seconds until a request is allowed again). */
  retryAfterSeconds?: number;
}

/**
 * Unknown: what a request carrying an expired token gets. '204': 204 without a body; 'empty':
 * 200 `{"logs":[]}` without a nextToken; '400': 400 InvalidFormat (as a bad token);
 * '401': 401 AuthenticationMissingOrInvalid (as bad credentials).
 */
export type ExpiredTokenAnswer = '204' | 'empty' | '400' | '401';

export interface TmesSimulatorOptions {
  /** "now" for the horizon, visibility and token life (default systemClock). Use a ManualClock in tests. */
  clock?: Clock;
  username?: string;
  apiKey?: string;
  /** false → 404 ResourceNotAvailable on log endpoints (Log Retrieval disabled). */
  logRetrieval?: boolean;
  /** Unknown: the sort order of a window's records (by the filter field). */
  order?: 'asc' | 'desc' | 'random';
  /** Server-side maximum records per page; a larger `limit` is clamped. */
  pageCap?: number;
  /** Real delay per request, for benchmarks. */
  latencyMs?: number;
  /** Unknown (indexing latency): a record is served only once now >= genTime + this delay. */
  visibilityDelayMs?: number;
  /**
   * Unknown (indexing latency): a per-record delay on top of `visibilityDelayMs`. A record is
   * listed from genTime + visibilityDelayMs + its own delay. Ask `timeline()` for each record's time.
   */
  visibility?: VisibilityOptions;
  /**
   * Unknown: which record time `start`/`end` filter on. 'timestamp' with records generated
   * after their timestamp (dataset `genTimeLagMs`) makes logs appear in windows already read,
   * as the quarantined sample (genTime 79 s after timestamp) suggests. A record without a valid
   * timestamp is filtered on its genTime. Visibility always counts from genTime.
   */
  filterField?: 'genTime' | 'timestamp';
  /** Unknown: 's' truncates start and end to the second before filtering (ms are documented). */
  boundPrecision?: 'ms' | 's';
  /** Unknown: whether a record at exactly `end` is included (start is always inclusive). */
  endInclusive?: boolean;
  faults?: FaultOptions;
  /** Fraction of served records replaced by a variant with wrong types / nulls / missing keys. */
  malformedRate?: number;
  /** Seeds the random order, the malformed picks, the visibility delays and the empty pages (default 1). */
  seed?: number;
  /** When the last page is exactly full, still send a nextToken (the next request gets 204). */
  tokenOnFullLastPage?: boolean;
  /**
   * Documented ("repeat until the nextToken parameter is not returned"), never observed: this
   * fraction of pages, drawn per read and request from the seed, is `{"nextToken": T, "logs": []}`
   * where T continues at the same record. In [0, 1).
   */
  emptyPageRate?: number;
  /** Unknown: how long a token stays valid after it was issued (default: forever). */
  tokenLifeMs?: number;
  /** What a request with an expired token gets (default '400'). */
  expiredTokenAnswer?: ExpiredTokenAnswer;
  /**
   * Unknown: 'opaque' tokens encode the position (a new string per page, stateless server).
   * 'handle': one string for every page of a read, a server-side cursor advanced at each
   * request; a read started without a token gets a new handle. A retried request whose answer
   * was lost gets the NEXT page (the server advanced): a collector cannot tell, so only a
   * restart of the read recovers the lost page.
   */
  tokenStyle?: 'opaque' | 'handle';
  /** Unknown: whether the API throttles (429 + Retry-After). Off by default. */
  rateLimit?: RateLimitOptions;
}

export type Settings = Required<Omit<TmesSimulatorOptions, 'faults' | 'visibility' | 'rateLimit'>> & {
  faults: FaultOptions;
  visibility: VisibilityOptions;
  rateLimit: RateLimitOptions;
};

export const DEFAULT_PAGE_LIMIT = 500;

export function defaultSettings(clock: Clock): Settings {
  return {
    clock,
    username: 'demo',
    apiKey: 'demo-api-key',
    logRetrieval: true,
    order: 'asc',
    pageCap: DEFAULT_PAGE_LIMIT,
    latencyMs: 0,
    visibilityDelayMs: 0,
    visibility: { buckets: [] },
    filterField: 'genTime',
    boundPrecision: 'ms',
    endInclusive: true,
    faults: {},
    malformedRate: 0,
    seed: 1,
    tokenOnFullLastPage: false,
    emptyPageRate: 0,
    tokenLifeMs: Number.POSITIVE_INFINITY,
    expiredTokenAnswer: '400',
    tokenStyle: 'opaque',
    rateLimit: { requestsPerSecond: Number.POSITIVE_INFINITY },
  };
}

/** `options` without its undefined values, so they do not overwrite defaults. */
export function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function checkSettings(settings: Settings): Settings {
  const problems: string[] = [];
  if (!Number.isInteger(settings.pageCap) || settings.pageCap < 1)
    problems.push('pageCap must be an integer >= 1');
  if (!(settings.latencyMs >= 0)) problems.push('latencyMs must be >= 0');
  if (!(settings.visibilityDelayMs >= 0)) problems.push('visibilityDelayMs must be >= 0');
  if (!(settings.malformedRate >= 0 && settings.malformedRate <= 1))
    problems.push('malformedRate must be in [0, 1]');
  if (!(settings.emptyPageRate >= 0 && settings.emptyPageRate < 1))
    problems.push('emptyPageRate must be in [0, 1) (1 would never end a read)');
  if (!(settings.tokenLifeMs > 0)) problems.push('tokenLifeMs must be > 0');
  if (!(settings.rateLimit.requestsPerSecond > 0)) problems.push('rateLimit.requestsPerSecond must be > 0');
  problems.push(...bucketProblems(settings.visibility));
  if (problems.length > 0) throw new RangeError(`Invalid TMES simulator options: ${problems.join('; ')}.`);
  return settings;
}

function bucketProblems(visibility: VisibilityOptions): string[] {
  const { buckets } = visibility;
  const problems: string[] = [];
  buckets.forEach((b, i) => {
    if (!(b.share >= 0)) problems.push(`visibility.buckets[${i}].share must be >= 0`);
    if (!(b.minMs >= 0 && b.maxMs >= b.minMs && Number.isFinite(b.maxMs)))
      problems.push(`visibility.buckets[${i}] needs 0 <= minMs <= maxMs (finite)`);
  });
  if (buckets.length > 0 && !(buckets.reduce((sum, b) => sum + b.share, 0) > 0))
    problems.push('visibility.buckets need a share > 0');
  return problems;
}
