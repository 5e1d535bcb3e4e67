/**
 * The TMES log API proper, without HTTP: from a request (method, credentials, route, query) to
 * a reply. It holds the stored records and the handle cursors, and decides which records a
 * read lists, in which order, on which pages, with which tokens.
 */
import { timingSafeEqual } from 'node:crypto';
import { STREAMS, type StreamName, type TmesRecord } from './dataset';
import { malformedVariant } from './tmes-malformed';
import { HandleCursors } from './tmes-cursors';
import { DEFAULT_PAGE_LIMIT, type Settings } from './tmes-options';
import { INVALID_FORMAT, type LogQuery, isFailure, parseLogQuery } from './tmes-query';
import { NO_CONTENT, type Reply, expiredTokenReply, failure, pageReply } from './tmes-replies';
import { type Span, StreamStore, shuffledIndex } from './tmes-store';
import { type PageToken, decodeHandle, decodeToken, encodeHandle, encodeToken } from './tmes-token';
import { ReadCache } from './tmes-read-cache';
import { recordDelayMs } from './tmes-visibility';
import { hash32, hashString } from './seeded-random';

export type Route = 'mailtracking' | 'policy';

export interface LogRequest {
  method: string;
  authorization: string | undefined;
  route: Route;
  params: URLSearchParams;
}

/** When a stored record is listed by the API, and on which time its windows filter. */
export interface RecordTimeline {
  /** The record as served (its malformed variant when malformedRate picks it). */
  record: TmesRecord;
  genTime: number;
  /** The time `start`/`end` compare with: genTime or timestamp, per filterField. */
  filterTime: number;
  /** Clock time from which the API lists the record (genTime + visibilityDelayMs + its own delay). */
  visibleAt: number;
}

/** A read in progress: its position, and its handle number when tokens are handles. */
interface Read {
  state: PageToken;
  handle?: number;
}

const HORIZON_MS = 72 * 3600_000;
const UNIT = 4294967296;

export class TmesLogApi {
  private readonly stores: Record<StreamName, StreamStore> = {
    accepted_traffic: new StreamStore(),
    blocked_traffic: new StreamStore(),
    policy_events: new StreamStore(),
  };
  private readonly cursors = new HandleCursors(() => this.settings.seed);
  private loops = 0;
  private readonly readCache = new ReadCache();

  constructor(private readonly settingsOf: () => Settings) {}

  private get settings(): Settings {
    return this.settingsOf();
  }

  /** The cache, emptied first if the settings changed since it was filled. */
  private get cache(): ReadCache {
    this.readCache.settingsAre(this.settings);
    return this.readCache;
  }

  add(stream: StreamName, records: readonly TmesRecord[]): void {
    this.stores[stream].add(records);
  }

  records(stream: StreamName): readonly TmesRecord[] {
    return this.stores[stream].records;
  }

  tokenLoop(count: number): void {
    this.loops += Math.max(0, count);
  }

  /** Every stored record of `stream` with its times, in store (genTime) order. */
  timeline(stream: StreamName): RecordTimeline[] {
    const store = this.stores[stream];
    const out: RecordTimeline[] = [];
    for (let i = 0; i < store.size; i++) {
      out.push({
        record: this.servedForm(stream, i),
        genTime: store.timeAt(i),
        filterTime: store.filterTimeAt(this.settings.filterField, i),
        visibleAt: this.visibleAt(stream, i),
      });
    }
    return out;
  }

  /** Served forms of the records with fromMs <= filter time <= untilMs listed at clock time `atMs`. */
  listed(stream: StreamName, fromMs: number, untilMs: number, atMs: number): TmesRecord[] {
    const span = this.stores[stream].span(this.settings.filterField, fromMs, untilMs);
    const out: TmesRecord[] = [];
    for (let k = 0; k < span.count; k++) {
      const index = span.indexAt(k);
      if (this.visibleAt(stream, index) <= atMs) out.push(this.servedForm(stream, index));
    }
    return out;
  }

  /** The API proper: method, credentials, Log Retrieval, parameters, then the page. */
  answer(request: LogRequest): Reply {
    if (request.method !== 'GET') {
      return failure({
        status: 400,
        code: 'InvalidMethod',
        message: `The URL does not support the ${request.method} method.`,
      });
    }
    if (!this.authorized(request.authorization)) {
      return failure({
        status: 401,
        code: 'AuthenticationMissingOrInvalid',
        message: 'The credential is missing or invalid.',
      });
    }
    if (!this.settings.logRetrieval) {
      const message = `The resource requested by the ${this.settings.username} account is not available.`;
      return failure({ status: 404, code: 'ResourceNotAvailable', message });
    }
    const stream = requestStream(request.route, request.params);
    if (stream === undefined) return failure(INVALID_FORMAT);
    const query = parseLogQuery(stream, request.params, this.settings.clock.now());
    return isFailure(query) ? failure(query) : this.page(query);
  }

  private authorized(header: string | undefined): boolean {
    const match = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
    if (match?.[1] === undefined) return false;
    const given = Buffer.from(match[1], 'base64');
    const expected = Buffer.from(`${this.settings.username}:${this.settings.apiKey}`, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private page(query: LogQuery): Reply {
    const now = this.settings.clock.now();
    const read = this.resolve(query, now);
    if (read === 'invalid') return failure(INVALID_FORMAT);
    if (read === 'expired') return expiredTokenReply(this.settings.expiredTokenAnswer);
    const { state } = read;
    const selection = this.select(query, state);
    if (state.offset >= selection.count) return NO_CONTENT;
    const pageNo = state.page ?? 0;
    if (this.emptyPage(state, pageNo)) {
      return pageReply(query.stream, [], this.issue({ ...state, page: pageNo + 1 }, read.handle, now));
    }
    const limit = Math.min(query.limit ?? DEFAULT_PAGE_LIMIT, this.settings.pageCap);
    const stop = Math.min(state.offset + limit, selection.count);
    const logs: TmesRecord[] = [];
    for (let k = state.offset; k < stop; k++) logs.push(this.servedForm(query.stream, selection.indexAt(k)));
    return pageReply(query.stream, logs, this.nextToken(query, read, stop, selection.count, limit, now));
  }

  /**
   * The read a request continues (its token's) or starts (no token): the requested bounds as
   * the server reads them, clamped to the 72-hour horizon and to what is indexed by now.
   */
  private resolve(query: LogQuery, now: number): Read | 'invalid' | 'expired' {
    const binding = hashString(query.binding);
    const lifeMs = this.settings.tokenLifeMs;
    if (query.token === undefined) return { state: this.firstState(query, binding, now) };
    if (this.settings.tokenStyle === 'handle') {
      const handle = decodeHandle(query.token);
      if (handle === undefined) return 'invalid';
      const found = this.cursors.lookup(handle, now, lifeMs);
      if (found === 'expired') return 'expired';
      return found !== 'unknown' && found.binding === binding ? { state: found, handle } : 'invalid';
    }
    const token = decodeToken(query.token);
    if (token?.binding !== binding) return 'invalid';
    if (token.issuedAt !== undefined && now - token.issuedAt > lifeMs) return 'expired';
    return { state: token };
  }

  private firstState(query: LogQuery, binding: number, now: number): PageToken {
    const s = this.settings;
    const second = (t: number): number => (s.boundPrecision === 's' ? Math.floor(t / 1000) * 1000 : t);
    const lo = second(query.start);
    // Times are whole milliseconds: "before end" is "at or before end - 1 ms".
    const hi = second(query.end) - (s.endInclusive ? 0 : 1);
    if (this.decidesPerRecord()) return { binding, lo, hi, offset: 0, asOf: now };
    return {
      binding,
      lo: Math.max(lo, now - HORIZON_MS),
      hi: Math.min(hi, now - s.visibilityDelayMs),
      offset: 0,
    };
  }

  /**
   * Whether visibility and the horizon must be checked record by record (O(window) per read),
   * rather than as bounds on a genTime-sorted range (the fast path benchmarks rely on).
   */
  private decidesPerRecord(): boolean {
    return this.settings.filterField === 'timestamp' || this.settings.visibility.buckets.length > 0;
  }

  /** The k-th record of the read in the configured order, as a store index. */
  private select(query: LogQuery, state: PageToken): Span {
    const store = this.stores[query.stream];
    const span = store.span(this.settings.filterField, state.lo, state.hi);
    const keep = this.keeps(query, state);
    let { count } = span;
    let base = span.indexAt;
    if (keep !== undefined) {
      // Per-record checks cost O(window) once per read (cached): fine for tests, not for benchmarks.
      // The fast path's bounds already hold its clock; the per-record path depends on asOf.
      const asOf = this.decidesPerRecord() ? (state.asOf ?? this.settings.clock.now()) : '';
      const key = [query.binding, state.lo, state.hi, asOf, store.version].join('|');
      const matching = this.cache.selection(key, () => {
        const kept: number[] = [];
        for (let k = 0; k < span.count; k++) {
          const index = span.indexAt(k);
          if (keep(index)) kept.push(index);
        }
        return kept;
      });
      count = matching.length;
      base = (k) => matching[k] ?? -1;
    }
    const seed = hash32(this.settings.seed, STREAMS.indexOf(query.stream), state.lo, state.hi);
    switch (this.settings.order) {
      case 'asc':
        return { count, indexAt: base };
      case 'desc':
        return { count, indexAt: (k) => base(count - 1 - k) };
      case 'random':
        return { count, indexAt: (k) => base(shuffledIndex(k, count, seed)) };
    }
  }

  /** The per-record test of a read (filters, visibility, horizon), or undefined when none applies. */
  private keeps(query: LogQuery, state: PageToken): ((index: number) => boolean) | undefined {
    const store = this.stores[query.stream];
    const { filter } = query;
    const tests: ((index: number) => boolean)[] = [];
    if (filter !== undefined) tests.push((index) => filter(store.recordAt(index)));
    if (this.decidesPerRecord()) {
      const asOf = state.asOf ?? this.settings.clock.now();
      const visibleAt = this.visibleAtColumn(query.stream);
      tests.push((index) => store.timeAt(index) >= asOf - HORIZON_MS && (visibleAt[index] ?? 0) <= asOf);
    }
    return tests.length === 0 ? undefined : (index) => tests.every((test) => test(index));
  }

  private visibleAt(stream: StreamName, index: number): number {
    return this.visibleAtColumn(stream)[index] ?? Number.NaN;
  }

  /** Each record's visible-at time, by store index (computed once per store version and settings). */
  private visibleAtColumn(stream: StreamName): Float64Array {
    const store = this.stores[stream];
    return this.cache.visibleAtColumn(stream, store.version, () => {
      const s = this.settings;
      const column = new Float64Array(store.size);
      for (let i = 0; i < store.size; i++) {
        const own = recordDelayMs(s.visibility, s.seed, STREAMS.indexOf(stream), store.seqAt(i));
        column[i] = store.timeAt(i) + s.visibilityDelayMs + own;
      }
      return column;
    });
  }

  /** One seeded draw per read and request: the same read replays the same empty pages. */
  private emptyPage(state: PageToken, pageNo: number): boolean {
    const rate = this.settings.emptyPageRate;
    if (rate <= 0) return false;
    return hash32(this.settings.seed, state.binding, state.lo, state.offset, pageNo) / UNIT < rate;
  }

  private nextToken(
    query: LogQuery,
    read: Read,
    stop: number,
    count: number,
    limit: number,
    now: number,
  ): string | undefined {
    const { state } = read;
    const pageNo = (state.page ?? 0) + 1;
    if (this.loops > 0) {
      // A broken API: the next page is this one again (same token, same records).
      this.loops--;
      if (this.settings.tokenStyle === 'opaque' && query.token !== undefined) return query.token;
      return this.issue({ ...state, page: pageNo }, read.handle, now);
    }
    const advanced = { ...state, offset: stop, page: pageNo };
    const full = stop - state.offset === limit;
    if (stop < count || (this.settings.tokenOnFullLastPage && full))
      return this.issue(advanced, read.handle, now);
    // The read is over; a handle's cursor still moves, so a retried last request gets 204.
    if (read.handle !== undefined) this.cursors.save(read.handle, advanced, now);
    return undefined;
  }

  /** The token continuing `state`: its encoding (opaque) or its saved cursor (handle). */
  private issue(state: PageToken, handle: number | undefined, now: number): string {
    const s = this.settings;
    if (s.tokenStyle === 'handle') return encodeHandle(this.cursors.save(handle, state, now));
    const { binding, lo, hi, offset, asOf, page } = state;
    // Optional fields only when a switch needs them: default tokens stay as they always were.
    return encodeToken({
      binding,
      lo,
      hi,
      offset,
      ...(this.decidesPerRecord() && asOf !== undefined ? { asOf } : {}),
      ...(s.emptyPageRate > 0 ? { page: page ?? 0 } : {}),
      ...(Number.isFinite(s.tokenLifeMs) ? { issuedAt: now } : {}),
    });
  }

  /** The record at store index `index` as served: a stable malformed variant for a stable few. */
  private servedForm(stream: StreamName, index: number): TmesRecord {
    const store = this.stores[stream];
    const record = store.recordAt(index);
    const rate = this.settings.malformedRate;
    if (rate <= 0) return record;
    const seq = store.seqAt(index);
    const roll = hash32(this.settings.seed, STREAMS.indexOf(stream), seq) / UNIT;
    return roll < rate ? malformedVariant(stream, record, hash32(seq, this.settings.seed, 7)) : record;
  }
}

/** Which stream a log request is for (undefined when its `type` is not one). */
export function requestStream(route: Route, params: URLSearchParams): StreamName | undefined {
  if (route === 'policy') return 'policy_events';
  const type = params.get('type');
  return type === 'accepted_traffic' || type === 'blocked_traffic' ? type : undefined;
}
