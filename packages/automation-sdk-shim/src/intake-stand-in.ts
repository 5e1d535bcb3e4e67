import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeHttp, listenHttp } from './http';
import { INTAKE_MAX_BODY_BYTES } from './intake';
import { systemClock, type Clock } from './time';

/** A scripted answer, to simulate an intake that is down, slow, or rude. */
export interface StandInResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the client's timeout must fire). */
  hang?: boolean;
  /** Drop the connection without an answer. */
  destroy?: boolean;
}

export interface IntakeStandInOptions {
  /** Timestamps the answers in `responses`; give the test's ManualClock. */
  clock?: Clock;
  /** When set, any other key is refused with 401. */
  intakeKey?: string;
  /** Real delay before each answer, to model a remote intake in benchmarks. */
  latencyMs?: number;
}

interface Rule {
  applies: () => boolean;
  response: StandInResponse;
}

/**
 * A Sekoia intake on 127.0.0.1 (`POST …/batch`, `{"intake_key","jsons"}` → `{"event_ids"}`)
 * for tests, the demo and benchmarks. It enforces the body limit, parses strictly, and can
 * be told to fail. It keeps what it accepted so tests can check nothing was lost.
 */
export class IntakeStandIn {
  /** Every accepted event string, in arrival order. */
  readonly events: string[] = [];
  /** The id issued for each accepted event (eventIds[i] is the id of events[i]). */
  readonly eventIds: string[] = [];
  /** Byte size of each accepted request body. */
  readonly bodySizes: number[] = [];
  /**
   * Every answer given, including scripted failures, timed by the clock when its request
   * arrived (when a rule such as failWhile decided it).
   */
  readonly responses: { at: number; status: number }[] = [];
  private readonly decidedAt = new WeakMap<ServerResponse, number>();
  /** All requests received. */
  requests = 0;
  /** Called for every accepted body before it is acknowledged (the demo writes ./out with it). */
  onEvents?: (events: string[]) => void | Promise<void>;

  private readonly server: Server;
  private readonly clock: Clock;
  private readonly rules: Rule[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private baseUrl: string | undefined;

  constructor(private readonly options: IntakeStandInOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.server = createServer((request, response) => {
      this.handle(request, response);
    });
  }

  get url(): string {
    if (this.baseUrl === undefined)
      throw new Error('The intake stand-in is not started; call start() first.');
    return this.baseUrl;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    const bound = await listenHttp(this.server, port, host);
    this.baseUrl = `http://${host}:${bound}`;
    return this.baseUrl;
  }

  /** Stops listening and closes every socket, idle keep-alive and hanging ones included. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await closeHttp(this.server);
  }

  /** The next `count` requests get `response`. */
  failNext(count: number, response: StandInResponse): void {
    let left = count;
    this.rules.push({ applies: () => left-- > 0, response });
  }

  /** Requests get `response` as long as `predicate` holds (e.g. `() => clock.now() < t`). */
  failWhile(predicate: () => boolean, response: StandInResponse): void {
    this.rules.push({ applies: predicate, response });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests++;
    // The answer is decided now, so it is timed now (the body is read asynchronously).
    const decidedAt = this.clock.now();
    this.decidedAt.set(response, decidedAt);
    const rule = this.rules.find((candidate) => candidate.applies());
    readBody(request, INTAKE_MAX_BODY_BYTES).then(
      (body) => {
        if (rule !== undefined) this.script(rule.response, request, response);
        else this.later(() => this.answer(request, body, response));
      },
      () => request.socket.destroy(),
    );
  }

  private script(scripted: StandInResponse, request: IncomingMessage, response: ServerResponse): void {
    if (scripted.hang === true) return; // stop() closes the socket
    if (scripted.destroy === true) {
      request.socket.destroy();
      return;
    }
    this.reply(response, scripted.status, scripted.body ?? '', scripted.headers);
  }

  private later(action: () => Promise<void>): void {
    const run = (): void => {
      action().catch(() => undefined);
    };
    const latency = this.options.latencyMs ?? 0;
    if (latency <= 0) {
      run();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, latency);
    this.timers.add(timer);
  }

  private async answer(
    request: IncomingMessage,
    body: Buffer | undefined,
    response: ServerResponse,
  ): Promise<void> {
    if (request.method !== 'POST' || !(request.url ?? '').split('?')[0]?.endsWith('/batch')) {
      this.replyJson(response, 404, { message: 'Not found: the intake accepts POST /batch' });
      return;
    }
    if (body === undefined) {
      this.replyJson(response, 413, { message: `Request body over ${INTAKE_MAX_BODY_BYTES} bytes` });
      return;
    }
    const batch = parseBatch(body);
    if (batch === undefined) {
      this.replyJson(response, 400, {
        message: 'Malformed body: expected {"intake_key": string, "jsons": [string]}',
      });
      return;
    }
    if (this.options.intakeKey !== undefined && batch.intakeKey !== this.options.intakeKey) {
      this.replyJson(response, 401, { message: 'Unknown intake key' });
      return;
    }
    try {
      await this.onEvents?.(batch.jsons);
    } catch {
      this.replyJson(response, 500, { message: 'The events could not be stored' });
      return;
    }
    this.replyJson(response, 200, { event_ids: this.accept(batch.jsons, body.length) });
  }

  private accept(jsons: readonly string[], bodyBytes: number): string[] {
    const ids: string[] = [];
    // A loop, not push(...spread): batches hold tens of thousands of events.
    for (const json of jsons) {
      const id = randomUUID();
      ids.push(id);
      this.events.push(json);
      this.eventIds.push(id);
    }
    this.bodySizes.push(bodyBytes);
    return ids;
  }

  private replyJson(response: ServerResponse, status: number, body: object): void {
    this.reply(response, status, JSON.stringify(body), { 'content-type': 'application/json' });
  }

  private reply(
    response: ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ): void {
    this.responses.push({ at: this.decidedAt.get(response) ?? this.clock.now(), status });
    response.writeHead(status, headers);
    response.end(body);
  }
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The whole body, or undefined once it passes `limit` (the rest is drained, not kept). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => {
      resolve(size <= limit ? Buffer.concat(chunks, size) : undefined);
    });
    request.on('error', reject);
  });
}

function parseBatch(body: Buffer): { intakeKey: string; jsons: string[] } | undefined {
  let parsed: unknown;
  try {
    // Strict: invalid UTF-8 is refused, not silently replaced.
    parsed = JSON.parse(STRICT_UTF8.decode(body));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { intake_key: intakeKey, jsons } = parsed as { intake_key?: unknown; jsons?: unknown };
  if (typeof intakeKey !== 'string' || !Array.isArray(jsons)) return undefined;
  if (!jsons.every((event): event is string => typeof event === 'string')) return undefined;
  return { intakeKey, jsons };
}
