import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeHttp, listenHttp } from '../http';
import { INTAKE_MAX_BODY_BYTES } from '../intake';
import { systemClock, type Clock } from '../time';

/** A scripted answer, to simulate an intake that is down, slow, or rude. */
export interface StandInResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the client's timeout must fire). */
  hang?: boolean;
  /** Drop the connection without an answer. */
  destroy?: boolean;
  /**
   * Store the batch first, as an accepted one (counted in `events`, passed to `onEvents`), then
   * give this response: with `destroy` or `hang` the intake stored it but its answer is lost;
   * with a status, `body` (default: the `event_ids` answer) is sent instead of the usual one.
   * A batch the intake would refuse (malformed, wrong key, `refuse`) is refused as usual.
   */
  store?: boolean;
  /** With `store` and no `body`: answer `{"event_ids": [...]}` naming only the first `keepIds`. */
  keepIds?: number;
}

/**
 * Which requests a scripted behaviour applies to: the next `n` requests, or every batch whose
 * events (the strings of `jsons`) match the predicate.
 */
export type StandInWhen = number | ((events: readonly string[]) => boolean);

export interface IntakeStandInOptions {
  /** Timestamps the answers in `responses`; give the test's ManualClock. */
  clock?: Clock;
  /** When set, any other key is refused with 401. */
  intakeKey?: string;
  /** Real delay before each answer, to model a remote intake in benchmarks. */
  latencyMs?: number;
  /** A batch holding an event for which this is true is refused with `refuseStatus`, none stored. */
  refuse?: (event: string) => boolean;
  /** The status of a refusal by `refuse` (default 400; 413 models a body refused as too large). */
  refuseStatus?: number;
}

interface Rule {
  applies: () => boolean;
  response: StandInResponse;
}

/**
 * A Sekoia intake on 127.0.0.1 (`POST …/batch`, `{"intake_key","jsons"}` → `{"event_ids"}`)
 * for tests, the demo and benchmarks. It enforces the body limit, parses strictly, and can
 * be told to fail. It keeps what it accepted so tests can check nothing was lost.
 *
 * Failures it models: any scripted answer (failNext / failWhile), an answer lost after the batch
 * was stored (storeThenDrop), a 2xx without or with fewer ids (acknowledgeWithoutIds), and
 * events it refuses (`refuse`: the whole batch holding one gets 400, or `refuseStatus`).
 */
export class IntakeStandIn {
  /** Every accepted (stored) event string, in arrival order, answer lost or not. */
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
  /** Poison events: a batch holding one is refused with `refuseStatus` (settable at any time). */
  refuse: ((event: string) => boolean) | undefined;
  refuseStatus: number;

  private readonly server: Server;
  private readonly clock: Clock;
  private readonly rules: Rule[] = [];
  /** Rules on a batch's content, checked once it is parsed; each one stores the batch first. */
  private readonly batchRules: {
    applies: (events: readonly string[]) => boolean;
    response: StandInResponse;
  }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** One promise per request not yet answered (or closed): what settled() waits for. */
  private readonly unanswered = new Set<Promise<void>>();
  private baseUrl: string | undefined;

  constructor(private readonly options: IntakeStandInOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.refuse = options.refuse;
    this.refuseStatus = options.refuseStatus ?? 400;
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

  /**
   * Resolves once every request a client has already sent is handled: answered (its batch
   * stored and passed to `onEvents` first) or its connection closed. A test that stops a client
   * and then changes what it expects (a restart, a new phase) calls this in between: a body
   * written just before the client stopped is still in the socket and only read on a later
   * turn of the event loop, so without the wait it would be counted as the next phase's. Bounded
   * by `maxWaitMs` (real time) for requests held open on purpose (`hang`).
   */
  async settled(maxWaitMs = 2_000): Promise<void> {
    // A real timer, not a tick: the poll phase must run so the server reads what is waiting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs);
    });
    try {
      await Promise.race([Promise.all([...this.unanswered]), deadline]);
    } finally {
      clearTimeout(timer);
    }
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

  /** Store the batch, then drop the connection without answering: the answer is lost. */
  storeThenDrop(when: StandInWhen): void {
    this.script(when, { status: 0, store: true, destroy: true });
  }

  /**
   * Store the batch and answer 200 naming only the first `keep` ids; with `keep` 0 (the
   * default) the answer has no `event_ids` at all.
   */
  acknowledgeWithoutIds(when: StandInWhen, keep = 0): void {
    this.script(
      when,
      keep > 0 ? { status: 200, store: true, keepIds: keep } : { status: 200, store: true, body: '{}' },
    );
  }

  private script(when: StandInWhen, response: StandInResponse): void {
    if (typeof when === 'number') this.failNext(when, response);
    else this.batchRules.push({ applies: when, response });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests++;
    // 'close' ends every response: answered, or its connection gone.
    const done = new Promise<void>((resolve) => response.once('close', resolve));
    this.unanswered.add(done);
    void done.then(() => this.unanswered.delete(done));
    // The answer is decided now, so it is timed now (the body is read asynchronously).
    const decidedAt = this.clock.now();
    this.decidedAt.set(response, decidedAt);
    const rule = this.rules.find((candidate) => candidate.applies());
    readBody(request, INTAKE_MAX_BODY_BYTES).then(
      (body) => {
        const scripted = rule?.response;
        if (scripted !== undefined && scripted.store !== true) this.scripted(scripted, request, response);
        else this.later(() => this.answer(request, body, response, scripted));
      },
      () => request.socket.destroy(),
    );
  }

  private scripted(
    scripted: StandInResponse,
    request: IncomingMessage,
    response: ServerResponse,
    ids?: readonly string[],
  ): void {
    if (scripted.hang === true) return; // stop() closes the socket
    if (scripted.destroy === true) {
      request.socket.destroy();
      return;
    }
    if (ids !== undefined && scripted.body === undefined) {
      const named = ids.slice(0, scripted.keepIds ?? ids.length);
      this.replyJson(response, scripted.status, { event_ids: named }, scripted.headers);
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
    afterStoring?: StandInResponse,
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
    const refuse = this.refuse;
    if (refuse !== undefined && batch.jsons.some((event) => refuse(event))) {
      this.replyJson(response, this.refuseStatus, { message: 'The batch holds an event the intake refuses' });
      return;
    }
    try {
      await this.onEvents?.(batch.jsons);
    } catch {
      this.replyJson(response, 500, { message: 'The events could not be stored' });
      return;
    }
    const ids = this.accept(batch.jsons, body.length);
    const scripted = afterStoring ?? this.batchRules.find((rule) => rule.applies(batch.jsons))?.response;
    if (scripted === undefined) this.replyJson(response, 200, { event_ids: ids });
    else this.scripted(scripted, request, response, ids);
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

  private replyJson(
    response: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ): void {
    this.reply(response, status, JSON.stringify(body), { 'content-type': 'application/json', ...headers });
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
