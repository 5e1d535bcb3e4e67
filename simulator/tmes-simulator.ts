/**
 * The Trend Micro Email Security log API, simulated over real HTTP: the stand-in that tests,
 * the demo and the benchmarks share. It reproduces what makes collectors fail in production
 * (tmes-api.md): inclusive bounds, the 72-hour horizon, late indexing, 204 on empty windows,
 * tokens full of `+ / =`, undocumented order, malformed records and a flaky network.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip } from 'node:zlib';
import { type Clock, realSleep, systemClock } from '@sekoia/automation-sdk-shim';
import { type GenerateOptions, STREAMS, type StreamName, type TmesRecord, generateDataset } from './dataset';
import { malformedVariant } from './tmes-malformed';
import { type ApiFailure, INVALID_FORMAT, type LogQuery, isFailure, parseLogQuery } from './tmes-query';
import { StreamStore, shuffledIndex } from './tmes-store';
import { type PageToken, decodeToken, encodeToken } from './tmes-token';
import { SeededRandom, hash32, hashString } from './seeded-random';

export interface FaultOptions {
  rate429?: number;
  retryAfterSeconds?: number;
  rate500?: number;
  /** Destroy the socket before answering. */
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

export interface TmesSimulatorOptions {
  /** "now" for the horizon and visibility (default systemClock). Use a ManualClock in tests. */
  clock?: Clock;
  username?: string;
  apiKey?: string;
  /** false → 404 ResourceNotAvailable on log endpoints (Log Retrieval disabled). */
  logRetrieval?: boolean;
  order?: 'asc' | 'desc' | 'random';
  /** Server-side maximum records per page; a larger `limit` is clamped. */
  pageCap?: number;
  /** Real delay per request, for benchmarks. */
  latencyMs?: number;
  /** A record is served only once now >= genTime + delay (late indexing). */
  visibilityDelayMs?: number;
  faults?: FaultOptions;
  /** Fraction of served records replaced by a variant with wrong types / nulls / missing keys. */
  malformedRate?: number;
  /** Seeds the random order and the malformed picks (default 1). */
  seed?: number;
  /** When the last page is exactly full, still send a nextToken (the next request gets 204). */
  tokenOnFullLastPage?: boolean;
}

export interface SimulatorStats {
  requests: number;
  /** 200 responses carrying a complete page. */
  pages: number;
  /** Records sent in complete pages, per stream. */
  served: Record<StreamName, number>;
  statuses: Record<number, number>;
  /** Connections destroyed without an answer. */
  dropped: number;
}

type Settings = Required<Omit<TmesSimulatorOptions, 'faults'>> & { faults: FaultOptions };

/** What the server sends back, before gzip. */
interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Records carried by a complete page, for stats. */
  page?: { stream: StreamName; count: number };
}

type Fault = '429' | '500' | 'drop' | 'html502' | 'truncated';

const HORIZON_MS = 72 * 3600_000;
const DEFAULT_LIMIT = 500;
const JSON_TYPE = 'application/json; charset=utf-8';
const ROUTES: ReadonlyMap<string, 'mailtracking' | 'policy'> = new Map([
  ['/api/v1/log/mailtrackinglog', 'mailtracking'],
  ['/api/v1/log/policyeventlog', 'policy'],
]);
const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';
const gzipAsync = promisify(gzip);

export class TmesSimulator {
  readonly stats: SimulatorStats = {
    requests: 0,
    pages: 0,
    served: { accepted_traffic: 0, blocked_traffic: 0, policy_events: 0 },
    statuses: {},
    dropped: 0,
  };
  private settings: Settings;
  private faultRandom: SeededRandom;
  private readonly stores: Record<StreamName, StreamStore> = {
    accepted_traffic: new StreamStore(),
    blocked_traffic: new StreamStore(),
    policy_events: new StreamStore(),
  };
  private readonly scripted: { remaining: number; response: ScriptedResponse; stream?: StreamName }[] = [];
  private loops = 0;
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(options: TmesSimulatorOptions = {}) {
    this.settings = checkSettings({
      clock: systemClock,
      username: 'demo',
      apiKey: 'demo-api-key',
      logRetrieval: true,
      order: 'asc',
      pageCap: DEFAULT_LIMIT,
      latencyMs: 0,
      visibilityDelayMs: 0,
      faults: {},
      malformedRate: 0,
      seed: 1,
      tokenOnFullLastPage: false,
      ...definedOnly(options),
    });
    this.faultRandom = new SeededRandom(this.settings.faults.seed ?? 1);
  }

  /** Base URL, e.g. http://127.0.0.1:41234 (still answers after stop(), for "refused" tests). */
  get url(): string {
    if (this.baseUrl === undefined) throw new Error('The TMES simulator is not started: call start() first.');
    return this.baseUrl;
  }

  add(stream: StreamName, records: readonly TmesRecord[]): void {
    this.stores[stream].add(records);
  }

  generate(o: GenerateOptions): void {
    const dataset = generateDataset(o);
    for (const stream of STREAMS) this.add(stream, dataset[stream]);
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server !== undefined) throw new Error(`The TMES simulator already listens on ${this.url}.`);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.crash(res, error);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port: bound } = server.address() as AddressInfo;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    this.baseUrl = `http://${shown}:${bound}`;
    return this.baseUrl;
  }

  /** Stops listening and closes every connection, idle keep-alive sockets included. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error === undefined) resolve();
        else reject(error);
      });
      server.closeAllConnections();
    });
  }

  /** Changes behaviour at run time; new `faults` restart the fault sequence from their seed. */
  set(options: Partial<TmesSimulatorOptions>): void {
    this.settings = checkSettings({ ...this.settings, ...definedOnly(options) });
    if (options.faults !== undefined) this.faultRandom = new SeededRandom(options.faults.seed ?? 1);
  }

  /**
   * The next `count` log requests (of `stream` only, when given) get `response`, before any
   * other check (queued in call order).
   */
  failNext(count: number, response: ScriptedResponse, stream?: StreamName): void {
    if (count > 0)
      this.scripted.push(
        stream === undefined ? { remaining: count, response } : { remaining: count, response, stream },
      );
  }

  /** The next `count` pages answer with a nextToken equal to the request's token (a broken API). */
  tokenLoop(count: number): void {
    this.loops += Math.max(0, count);
  }

  records(stream: StreamName): readonly TmesRecord[] {
    return this.stores[stream].records;
  }

  /**
   * What a perfect collector must have delivered for windows up to `untilMs`: records with
   * fromMs <= genTime <= untilMs that are visible at the current clock, in the form they are
   * served (malformed variants included), oldest first.
   */
  visible(stream: StreamName, untilMs: number, fromMs = Number.NEGATIVE_INFINITY): TmesRecord[] {
    const store = this.stores[stream];
    const { from, to } = store.range(fromMs, Math.min(untilMs, this.visibleUntil()));
    const out: TmesRecord[] = [];
    for (let i = from; i < to; i++) out.push(this.servedForm(stream, i));
    return out;
  }

  private visibleUntil(): number {
    return this.settings.clock.now() - Math.max(0, this.settings.visibilityDelayMs);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    req.resume();
    const url = new URL(req.url ?? '/', 'http://tmes.invalid');
    const route = ROUTES.get(url.pathname);
    if (route === undefined) {
      await this.send(req, res, { status: 404, body: 'Not Found', contentType: 'text/plain; charset=utf-8' });
      return;
    }
    if (this.settings.latencyMs > 0) await realSleep(this.settings.latencyMs);
    const scripted = this.takeScripted(requestStream(route, url.searchParams));
    if (scripted !== undefined) {
      this.sendScripted(req, res, scripted);
      return;
    }
    const fault = this.drawFault();
    if (fault === 'drop') {
      this.stats.dropped++;
      req.socket.destroy();
      return;
    }
    if (fault === '429' || fault === '500' || fault === 'html502') {
      await this.send(req, res, faultReply(fault, this.settings.faults));
      return;
    }
    const reply = this.answer(req, route, url.searchParams);
    await this.send(req, res, fault === 'truncated' ? truncated(reply) : reply);
  }

  /** The API proper: method, credentials, Log Retrieval, parameters, then the page. */
  private answer(req: IncomingMessage, route: 'mailtracking' | 'policy', params: URLSearchParams): Reply {
    const method = req.method ?? 'GET';
    if (method !== 'GET') {
      return failure({
        status: 400,
        code: 'InvalidMethod',
        message: `The URL does not support the ${method} method.`,
      });
    }
    if (!this.authorized(req.headers.authorization)) {
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
    const stream = route === 'policy' ? 'policy_events' : trafficType(params.get('type'));
    if (stream === undefined) return failure(INVALID_FORMAT);
    const query = parseLogQuery(stream, params, this.settings.clock.now());
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
    const window = this.windowOf(query);
    if (window === undefined) return failure(INVALID_FORMAT);
    const selection = this.select(query, window);
    if (window.offset >= selection.count) return { status: 204, body: '' };
    const limit = Math.min(query.limit ?? DEFAULT_LIMIT, this.settings.pageCap);
    const stop = Math.min(window.offset + limit, selection.count);
    const logs: TmesRecord[] = [];
    for (let k = window.offset; k < stop; k++) logs.push(this.servedForm(query.stream, selection.indexAt(k)));
    const nextToken = this.nextToken(query, window, stop, selection.count, limit);
    return {
      status: 200,
      body: JSON.stringify(nextToken === undefined ? { logs } : { nextToken, logs }),
      contentType: JSON_TYPE,
      page: { stream: query.stream, count: logs.length },
    };
  }

  /**
   * The window a request reads: from its token, or (first page) the requested bounds clamped to
   * the 72-hour horizon and to what is indexed by now. Undefined for a token that is not ours
   * or belongs to another query.
   */
  private windowOf(query: LogQuery): PageToken | undefined {
    const binding = hashString(query.binding);
    if (query.token !== undefined) {
      const token = decodeToken(query.token);
      return token?.binding === binding ? token : undefined;
    }
    const now = this.settings.clock.now();
    return {
      binding,
      lo: Math.max(query.start, now - HORIZON_MS),
      hi: Math.min(query.end, this.visibleUntil()),
      offset: 0,
    };
  }

  /** The k-th record of the window in the configured order, as a store index. */
  private select(query: LogQuery, window: PageToken): { count: number; indexAt: (k: number) => number } {
    const store = this.stores[query.stream];
    const { from, to } = store.range(window.lo, window.hi);
    let count = to - from;
    let base = (k: number): number => from + k;
    if (query.filter !== undefined) {
      // Filters (event, direction, domain) cost O(window): fine for tests, not for benchmarks.
      const matching: number[] = [];
      for (let i = from; i < to; i++) if (query.filter(store.recordAt(i))) matching.push(i);
      count = matching.length;
      base = (k) => matching[k] ?? -1;
    }
    const seed = hash32(this.settings.seed, STREAMS.indexOf(query.stream), window.lo, window.hi);
    switch (this.settings.order) {
      case 'asc':
        return { count, indexAt: base };
      case 'desc':
        return { count, indexAt: (k) => base(count - 1 - k) };
      case 'random':
        return { count, indexAt: (k) => base(shuffledIndex(k, count, seed)) };
    }
  }

  private nextToken(
    query: LogQuery,
    window: PageToken,
    stop: number,
    count: number,
    limit: number,
  ): string | undefined {
    if (this.loops > 0) {
      this.loops--;
      return query.token ?? encodeToken(window);
    }
    const full = stop - window.offset === limit;
    if (stop < count || (this.settings.tokenOnFullLastPage && full))
      return encodeToken({ ...window, offset: stop });
    return undefined;
  }

  /** The record at store index `index` as served: a stable malformed variant for a stable few. */
  private servedForm(stream: StreamName, index: number): TmesRecord {
    const store = this.stores[stream];
    const record = store.recordAt(index);
    const rate = this.settings.malformedRate;
    if (rate <= 0) return record;
    const seq = store.seqAt(index);
    const roll = hash32(this.settings.seed, STREAMS.indexOf(stream), seq) / 4294967296;
    return roll < rate ? malformedVariant(stream, record, hash32(seq, this.settings.seed, 7)) : record;
  }

  private takeScripted(stream: StreamName | undefined): ScriptedResponse | undefined {
    const index = this.scripted.findIndex((s) => s.stream === undefined || s.stream === stream);
    const head = this.scripted[index];
    if (head === undefined) return undefined;
    head.remaining--;
    if (head.remaining <= 0) this.scripted.splice(index, 1);
    return head.response;
  }

  /** One seeded draw per log request, so a fault sequence replays identically. */
  private drawFault(): Fault | undefined {
    const f = this.settings.faults;
    const roll = this.faultRandom.next();
    const rates: [Fault, number | undefined][] = [
      ['429', f.rate429],
      ['500', f.rate500],
      ['drop', f.rateDrop],
      ['html502', f.rateHtml502],
      ['truncated', f.rateTruncated],
    ];
    let edge = 0;
    for (const [fault, rate] of rates) {
      edge += rate ?? 0;
      if (roll < edge) return fault;
    }
    return undefined;
  }

  private sendScripted(req: IncomingMessage, res: ServerResponse, scripted: ScriptedResponse): void {
    if (scripted.destroy === true) {
      this.stats.dropped++;
      req.socket.destroy();
      return;
    }
    const body = Buffer.from(scripted.body ?? '', 'utf8');
    const headers: Record<string, string> = { ...scripted.headers };
    const hasType = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
    if (body.length > 0 && !hasType) headers['Content-Type'] = JSON_TYPE;
    this.write(res, scripted.status, headers, body);
  }

  private async send(req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
    const headers: Record<string, string> = { ...reply.headers };
    let body = Buffer.from(reply.body, 'utf8');
    if (body.length > 0) headers['Content-Type'] = reply.contentType ?? JSON_TYPE;
    // Only JSON is compressed: gateway error pages (the HTML 502) come back as plain text.
    if (body.length > 0 && reply.contentType === JSON_TYPE && acceptsGzip(req)) {
      body = await gzipAsync(body, { level: zlibConstants.Z_BEST_SPEED });
      headers['Content-Encoding'] = 'gzip';
      headers.Vary = 'Accept-Encoding';
    }
    if (reply.page !== undefined) {
      this.stats.pages++;
      this.stats.served[reply.page.stream] += reply.page.count;
    }
    this.write(res, reply.status, headers, body);
  }

  private write(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
    this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1;
    // The simulated clock, not the host's: collectors may read server time from Date.
    res.setHeader('Date', new Date(this.settings.clock.now()).toUTCString());
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader('Content-Length', body.length);
    res.statusCode = status;
    res.end(body);
  }

  private crash(res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.destroy(error instanceof Error ? error : undefined);
      return;
    }
    const body = Buffer.from(
      JSON.stringify({ code: 'InternalServerError', message: 'Internal server error.' }),
    );
    this.write(res, 500, { 'Content-Type': JSON_TYPE }, body);
  }
}

function trafficType(type: string | null): StreamName | undefined {
  return type === 'accepted_traffic' || type === 'blocked_traffic' ? type : undefined;
}

function failure(problem: ApiFailure): Reply {
  return {
    status: problem.status,
    body: JSON.stringify({ code: problem.code, message: problem.message }),
    contentType: JSON_TYPE,
  };
}

function faultReply(fault: Exclude<Fault, 'drop' | 'truncated'>, options: FaultOptions): Reply {
  switch (fault) {
    case '429': {
      const seconds = options.retryAfterSeconds ?? 1;
      const message = `Too many requests. Retry after ${seconds} seconds.`;
      return {
        ...failure({ status: 429, code: 'TooManyRequests', message }),
        headers: { 'Retry-After': String(seconds) },
      };
    }
    case '500':
      return failure({ status: 500, code: 'InternalServerError', message: 'Internal server error.' });
    case 'html502':
      return { status: 502, body: HTML_502, contentType: 'text/html' };
  }
}

/** Half of a page's bytes: valid HTTP, invalid JSON. Non-page answers pass through untouched. */
function truncated(reply: Reply): Reply {
  if (reply.status !== 200) return reply;
  const bytes = Buffer.from(reply.body, 'utf8');
  return {
    status: 200,
    body: bytes.subarray(0, Math.floor(bytes.length / 2)).toString('utf8'),
    contentType: JSON_TYPE,
  };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  return typeof header === 'string' && /\bgzip\b/i.test(header);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkSettings(settings: Settings): Settings {
  const problems: string[] = [];
  if (!Number.isInteger(settings.pageCap) || settings.pageCap < 1)
    problems.push('pageCap must be an integer >= 1');
  if (!(settings.latencyMs >= 0)) problems.push('latencyMs must be >= 0');
  if (!(settings.visibilityDelayMs >= 0)) problems.push('visibilityDelayMs must be >= 0');
  if (!(settings.malformedRate >= 0 && settings.malformedRate <= 1))
    problems.push('malformedRate must be in [0, 1]');
  if (problems.length > 0) throw new RangeError(`Invalid TMES simulator options: ${problems.join('; ')}.`);
  return settings;
}

/** Which stream a log request is for (undefined when its `type` is not one). */
function requestStream(route: 'mailtracking' | 'policy', params: URLSearchParams): StreamName | undefined {
  if (route === 'policy') return 'policy_events';
  const type = params.get('type');
  return type === 'accepted_traffic' || type === 'blocked_traffic' ? type : undefined;
}
