/**
 * The Trend Micro Email Security log API, simulated over real HTTP: the stand-in that tests,
 * the demo and the benchmarks share. It reproduces what makes collectors fail in production
 * (tmes-api.md): inclusive bounds, the 72-hour horizon, late indexing, 204 on empty windows,
 * tokens full of `+ / =`, undocumented order, malformed records and a flaky network; and, one
 * switch each (tmes-options.ts), the behaviours the documentation leaves open.
 *
 * This file is the HTTP side (listen, scripted answers, throttling, faults, gzip, stats); the
 * API proper is tmes-log-api.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip } from 'node:zlib';
import { realSleep, systemClock } from '@sekoia/automation-sdk-shim';
import { type GenerateOptions, STREAMS, type StreamName, type TmesRecord, generateDataset } from './dataset';
import { type LogRequest, type RecordTimeline, type Route, TmesLogApi, requestStream } from './tmes-log-api';
import {
  type ScriptedResponse,
  type Settings,
  type TmesSimulatorOptions,
  checkSettings,
  defaultSettings,
  definedOnly,
} from './tmes-options';
import { RequestBucket } from './tmes-rate-limit';
import { type Fault, JSON_TYPE, type Reply, faultReply, tooManyRequests, truncated } from './tmes-replies';
import { type SimulatorStats, countReply, countRequest, newStats } from './tmes-stats';
import { SeededRandom } from './seeded-random';

export type {
  ExpiredTokenAnswer,
  FaultOptions,
  RateLimitOptions,
  ScriptedResponse,
  TmesSimulatorOptions,
  VisibilityBucket,
  VisibilityOptions,
} from './tmes-options';
export type { RecordTimeline } from './tmes-log-api';
export type { RequestCounts, SimulatorStats } from './tmes-stats';

const ROUTES: ReadonlyMap<string, Route> = new Map([
  ['/api/v1/log/mailtrackinglog', 'mailtracking'],
  ['/api/v1/log/policyeventlog', 'policy'],
]);
const gzipAsync = promisify(gzip);

export class TmesSimulator {
  readonly stats: SimulatorStats = newStats();
  private settings: Settings;
  private faultRandom: SeededRandom;
  private bucket: RequestBucket;
  private readonly api = new TmesLogApi(() => this.settings);
  private readonly scripted: { remaining: number; response: ScriptedResponse; stream?: StreamName }[] = [];
  private server: Server | undefined;
  private baseUrl: string | undefined;

  constructor(options: TmesSimulatorOptions = {}) {
    this.settings = checkSettings({ ...defaultSettings(systemClock), ...definedOnly(options) });
    this.faultRandom = new SeededRandom(this.settings.faults.seed ?? 1);
    this.bucket = new RequestBucket(this.settings.rateLimit);
  }

  /** Base URL, e.g. http://127.0.0.1:41234 (still answers after stop(), for "refused" tests). */
  get url(): string {
    if (this.baseUrl === undefined) throw new Error('The TMES simulator is not started: call start() first.');
    return this.baseUrl;
  }

  add(stream: StreamName, records: readonly TmesRecord[]): void {
    this.api.add(stream, records);
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

  /**
   * Changes behaviour at run time; new `faults` restart the fault sequence from their seed, a
   * new `rateLimit` starts with a full bucket.
   */
  set(options: Partial<TmesSimulatorOptions>): void {
    this.settings = checkSettings({ ...this.settings, ...definedOnly(options) });
    if (options.faults !== undefined) this.faultRandom = new SeededRandom(options.faults.seed ?? 1);
    if (options.rateLimit !== undefined) this.bucket = new RequestBucket(this.settings.rateLimit);
  }

  /**
   * The next `count` log requests (of `stream` only, when given) get `response`, before any
   * other check (queued in call order). The API never sees them: a handle cursor does not move.
   */
  failNext(count: number, response: ScriptedResponse, stream?: StreamName): void {
    if (count > 0)
      this.scripted.push(
        stream === undefined ? { remaining: count, response } : { remaining: count, response, stream },
      );
  }

  /** The next `count` pages answer with a nextToken that lists the same records again (a broken API). */
  tokenLoop(count: number): void {
    this.api.tokenLoop(count);
  }

  records(stream: StreamName): readonly TmesRecord[] {
    return this.api.records(stream);
  }

  /**
   * What a perfect collector must have delivered for windows up to `untilMs`: records with
   * fromMs <= filter time <= untilMs that are listed at clock time `atMs` (default: now), in
   * the form they are served (malformed variants included), in filter-time order.
   */
  visible(
    stream: StreamName,
    untilMs: number,
    fromMs = Number.NEGATIVE_INFINITY,
    atMs = this.settings.clock.now(),
  ): TmesRecord[] {
    return this.api.listed(stream, fromMs, untilMs, atMs);
  }

  /**
   * Every stored record of `stream` with its genTime, filter time and the clock time from
   * which the API lists it (per-record visibility), so a test can compute exactly what a
   * collector could have seen at any time (tests/helpers/late-traffic.ts).
   */
  timeline(stream: StreamName): RecordTimeline[] {
    return this.api.timeline(stream);
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
    const stream = requestStream(route, url.searchParams);
    if (stream !== undefined) countRequest(this.stats, stream, url.searchParams);
    if (this.settings.latencyMs > 0) await realSleep(this.settings.latencyMs);
    const scripted = this.takeScripted(stream);
    if (scripted !== undefined) {
      this.sendScripted(req, res, scripted);
      return;
    }
    const retryAfter = this.bucket.take(this.settings.clock.now());
    if (retryAfter !== undefined) {
      await this.send(req, res, { ...tooManyRequests(retryAfter), note: 'rateLimited' });
      return;
    }
    await this.respond(req, res, route, url.searchParams);
  }

  /** The API's answer, through the seeded network faults. */
  private async respond(
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    params: URLSearchParams,
  ): Promise<void> {
    const fault = this.drawFault();
    if (fault === '429' || fault === '500' || fault === 'html502') {
      await this.send(req, res, faultReply(fault, this.settings.faults));
      return;
    }
    if (fault === 'drop') {
      // A handle cursor is server state: the server advanced it before the answer was lost.
      if (this.settings.tokenStyle === 'handle') this.api.answer(logRequest(req, route, params));
      this.stats.dropped++;
      req.socket.destroy();
      return;
    }
    const reply = this.api.answer(logRequest(req, route, params));
    await this.send(req, res, fault === 'truncated' ? truncated(reply) : reply);
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
    countReply(this.stats, reply);
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

function logRequest(req: IncomingMessage, route: Route, params: URLSearchParams): LogRequest {
  return { method: req.method ?? 'GET', authorization: req.headers.authorization, route, params };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  return typeof header === 'string' && /\bgzip\b/i.test(header);
}
