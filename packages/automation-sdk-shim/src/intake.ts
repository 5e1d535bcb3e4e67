import { createHash } from 'node:crypto';
import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  ConfigurationError,
  InvariantError,
  ResponseError,
  TransientError,
  isAbort,
  isFatal,
  type HttpFacts,
} from './errors';
import type { Liveness } from './health';
import { followAbort } from './abort-link';
import { exchange, malformed, safeExcerpt, type ExchangeRules, type HttpAnswer } from './exchange';
import { createHttpClient, excerpt } from './http';
import {
  BodyBuffers,
  encodeChunks,
  encodePart,
  type ChunkLimits,
  type EncodedChunk,
  type OversizedEvent,
} from './intake-body';
import { PushLedger, type PushResult } from './intake-ledger';
import type { Logger } from './logger';
import type { ConnectorMetrics } from './metrics';
import { INTAKE_RETRY } from './backoff-policies';
import { failure, retry, retryable, success, type BackoffPolicy, type RetryDecision } from './retry';
import { abortError, type Clock, type Sleep } from './time';

export type { PushResult } from './intake-ledger';

/** The intake's documented limits, in UTF-8 bytes. */
export const INTAKE_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const INTAKE_MAX_EVENT_BYTES = 250_000;
/**
 * The largest body this client sends: 90 % of the intake's limit, i.e. 9 MiB, the margin of
 * Sekoia's Python SDK (sekoia-automation-sdk, sekoia_automation/constants.py:
 * `CHUNK_BYTES_MAX_SIZE = int(INTAKE_PAYLOAD_BYTES_MAX_SIZE * CHUNK_BYTES_FACTOR)` with a factor
 * of 0.9, the chunk budget of `Connector._chunk_events` in sekoia_automation/connector/__init__.py).
 * Python spends the margin on the envelope and escaping it does not count; here those are
 * counted exactly, so the whole margin is left to whatever sits in front of the intake.
 */
export const INTAKE_MAX_CHUNK_BYTES = Math.floor(INTAKE_MAX_BODY_BYTES * 0.9);
const DEFAULT_INTAKE_USER_AGENT = 'sekoiaio-connector/automation-sdk-shim';
/** Discarded events are logged one by one up to this many per push, then summarised. */
const MAX_DISCARD_WARNINGS = 10;
/**
 * A push of a single event refused with 400/413 discards it only if the intake's latest verdict
 * (on another request, this recent) was an acceptance: otherwise the intake may be refusing
 * everything, and the event is kept for later rather than dropped.
 */
const REFUSAL_EVIDENCE_MS = 15 * 60_000;
/** Answers that refuse the batch's content: split to find the events at fault. */
const REFUSAL_STATUSES = new Set([400, 413]);

export interface IntakeClientOptions {
  /** Intake base (intake_server or intake_url); `/batch` is appended. */
  url: string;
  intakeKey: string;
  logger: Logger;
  clock: Clock;
  sleep: Sleep;
  random?: () => number;
  http?: AxiosInstance;
  metrics?: ConnectorMetrics;
  liveness?: Liveness;
  /** Never derived from the intake key (the Python SDK puts the key there). */
  userAgent?: string;
  /** Largest request body, envelope included (default INTAKE_MAX_CHUNK_BYTES, 9 MiB). */
  maxBodyBytes?: number;
  maxEventBytes?: number;
  /** Batches in flight at once. */
  concurrency?: number;
  policy?: BackoffPolicy;
}

export interface PushOptions {
  signal?: AbortSignal;
}

export {
  planChunks,
  writeIntakeBody,
  type ChunkLimits,
  type IntakeChunk,
  type OversizedEvent,
} from './intake-body';

/** The intake's definitive answer to one request (transient failures are retried before). */
type Answer =
  | { kind: 'accepted'; ids: string[]; status: number; text: string }
  | { kind: 'refused'; status: number; error: ResponseError };

/** One push in progress: its events, the fate of each, and what the refusal rule may rely on. */
interface PushContext {
  events: readonly string[];
  ledger: PushLedger;
  signal: AbortSignal;
  /** A single event to send, refused alone: the intake's earlier verdict is the only evidence. */
  lone: boolean;
  /** The intake's latest verdict, when the push started, was a recent acceptance. */
  intakeWasAccepting: boolean;
}

/**
 * A failure after which the intake may hold the batch (the body went out, the answer did not
 * come back): sending it again may duplicate it.
 */
class UnknownOutcomeError extends TransientError {
  constructor(
    message: string,
    readonly reason: string,
    options: { cause?: unknown; http?: HttpFacts } = {},
  ) {
    super(message, options);
  }
}

/**
 * Pushes events to a Sekoia intake: byte-exact batches sent in parallel, each retried only
 * when a retry can help, a batch the intake refuses split until the refused events stand
 * alone, and every event either acknowledged, discarded (and logged) or reported in a thrown
 * DeliveryError.
 */
export class IntakeClient {
  private readonly batchUrl: string;
  private readonly http: AxiosInstance;
  private readonly envelopeHead: string;
  private readonly limits: ChunkLimits;
  private readonly concurrency: number;
  private readonly userAgent: string;
  /** The intake's latest acceptance or refusal (400/413), for the lone-refusal rule. */
  private lastVerdict: { accepted: boolean; at: number } | undefined;
  /** Bodies' buffers, reused from one request to the next (see BodyBuffers). */
  private readonly bodies: BodyBuffers;

  constructor(private readonly options: IntakeClientOptions) {
    this.batchUrl = batchUrlOf(options.url);
    if (options.intakeKey.trim() === '') {
      throw new ConfigurationError(
        'The "intake_key" setting is empty; set it to the key of your Sekoia intake.',
        {
          field: 'intake_key',
        },
      );
    }
    this.userAgent = options.userAgent ?? DEFAULT_INTAKE_USER_AGENT;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    // As many as the bodies sent at once by one push: pushes side by side allocate the rest.
    this.bodies = new BodyBuffers(this.concurrency);
    this.http =
      options.http ??
      createHttpClient({ timeoutMs: 30_000, userAgent: this.userAgent, maxSockets: this.concurrency });
    this.envelopeHead = `{"intake_key":${JSON.stringify(options.intakeKey)},"jsons":[`;
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? INTAKE_MAX_CHUNK_BYTES,
      maxEventBytes: options.maxEventBytes ?? INTAKE_MAX_EVENT_BYTES,
    };
  }

  /**
   * Resolves once every event was acknowledged or deliberately discarded (oversized, refused
   * alone by the intake). Otherwise throws: the fatal error (AuthenticationError) as is, an
   * AbortError, or a DeliveryError whose `acknowledged` lists the events not to send again.
   */
  async push(events: readonly (string | object)[], options: PushOptions = {}): Promise<PushResult> {
    const strings = events.map((event) => (typeof event === 'string' ? event : JSON.stringify(event)));
    const { chunks: batches, oversized } = encodeChunks(strings, this.envelopeHead, this.limits, this.bodies);
    const ledger = new PushLedger(strings.length);
    ledger.markOversized(oversized.map((event) => event.index));
    this.reportOversized(strings, oversized);
    if (batches.length === 0) return ledger.result();
    const started = this.options.clock.now();
    const sendable = batches.reduce((sum, batch) => sum + batch.indexes.length, 0);
    const verdict = this.lastVerdict;
    const context = {
      events: strings,
      ledger,
      lone: sendable === 1,
      intakeWasAccepting: verdict?.accepted === true && started - verdict.at <= REFUSAL_EVIDENCE_MS,
    };
    try {
      await this.sendAll(batches, context, options.signal);
    } finally {
      this.options.metrics?.observeForwardDuration((this.options.clock.now() - started) / 1000);
      this.summariseRefused(ledger);
    }
    if (!ledger.complete) throw ledger.deliveryError();
    return ledger.result();
  }

  private async sendAll(
    batches: readonly EncodedChunk[],
    context: Omit<PushContext, 'signal'>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    // One fatal answer (a refused key) will be the answer to every batch: stop the others.
    const stop = followAbort(signal);
    const push: PushContext = { ...context, signal: stop.signal };
    let errors: unknown[];
    try {
      errors = await mapBounded(batches, this.concurrency, async (batch) => {
        try {
          await this.deliver(batch, push);
          return undefined;
        } catch (error) {
          if (isFatal(error)) stop.abort();
          return error;
        } finally {
          // Its requests are over (answered, failed or aborted): the next body may use the buffer.
          this.giveBack(batch);
        }
      });
    } finally {
      stop.release();
      // Bodies never sent (the push stopped before their turn).
      for (const batch of batches) this.giveBack(batch);
    }
    if (signal?.aborted === true) throw abortError();
    const fatal = errors.find((error) => isFatal(error));
    if (fatal !== undefined) throw fatal;
    // Anything else leaves its batch's events pending: reported by the DeliveryError.
    for (const error of errors) if (error !== undefined) context.ledger.recordFailure(error);
  }

  /** Gives a chunk's buffer back (once: the chunk forgets it). */
  private giveBack(chunk: EncodedChunk): void {
    const { backing } = chunk;
    if (backing === undefined) return;
    chunk.backing = undefined;
    chunk.body = new InvariantError(
      'Bug in the intake client (please report it): a body was used after its buffer went back.',
    );
    this.bodies.give(backing);
  }

  /** Sends one batch; a refusal (400/413) is narrowed down to the events at fault. */
  private async deliver(batch: EncodedChunk, push: PushContext): Promise<void> {
    const answer = await this.send(batch, push);
    if (answer?.kind !== 'refused') return;
    // log2 levels, two requests each, room for two refused events: bounded, whatever the intake does.
    const budget = { requests: 4 * Math.ceil(Math.log2(Math.max(2, batch.indexes.length))) };
    await this.isolate(batch, answer, push, budget);
  }

  /**
   * Halves a refused part, sends both halves, and goes on with the halves refused again, until
   * a refused event stands alone. Every accepted half is delivered on the way. Once the budget
   * of extra requests is spent, what is still refused stays pending (the next push goes on).
   */
  private async isolate(
    part: EncodedChunk,
    refusal: Extract<Answer, { kind: 'refused' }>,
    push: PushContext,
    budget: { requests: number },
  ): Promise<void> {
    if (part.indexes.length === 1) {
      this.refuseEvent(part, refusal, push);
      return;
    }
    if (budget.requests < 2) {
      push.ledger.recordFailure(refusal.error);
      return;
    }
    budget.requests -= 2;
    const halves = this.halves(part, push.events);
    // Both halves are sent before going deeper: an accepted half is the evidence that the
    // intake refuses these events, not everything (see refuseEvent).
    const answers: (Answer | undefined)[] = [];
    for (const half of halves) answers.push(await this.send(half, push));
    for (const [i, half] of halves.entries()) {
      const answer = answers[i];
      if (answer?.kind === 'refused') await this.isolate(half, answer, push, budget);
    }
  }

  private halves(part: EncodedChunk, events: readonly string[]): [EncodedChunk, EncodedChunk] {
    const middle = Math.ceil(part.indexes.length / 2);
    return [
      encodePart(events, part.indexes.slice(0, middle), this.envelopeHead),
      encodePart(events, part.indexes.slice(middle), this.envelopeHead),
    ];
  }

  /**
   * An event the intake refused on its own is discarded (logged, counted), but only when the
   * intake shows it accepts other events: in this push, or, for a push of this event alone,
   * in its latest verdict. An intake that refuses everything loses nothing: the events stay
   * pending and the DeliveryError carries its answer.
   */
  private refuseEvent(
    part: EncodedChunk,
    refusal: Extract<Answer, { kind: 'refused' }>,
    push: PushContext,
  ): void {
    const { ledger, events } = push;
    const evidence = ledger.acceptedRequests > 0 || (push.lone && push.intakeWasAccepting);
    const index = part.indexes[0];
    if (!evidence || index === undefined) {
      ledger.recordFailure(refusal.error);
      return;
    }
    ledger.markRefused(index);
    this.options.metrics?.discarded(1);
    if (ledger.refusedEvents > MAX_DISCARD_WARNINGS) return;
    const event = events[index] ?? '';
    const bytes = Buffer.byteLength(event);
    const sha256 = shortHash(event);
    this.options.logger.log(
      'error',
      `Event #${index} (sha256 ${sha256}…, ${bytes} bytes) was refused by the Sekoia intake with HTTP ${refusal.status} and discarded; the other events were delivered. It starts with: ${this.quote(event)}`,
      { index, bytes, sha256, status: refusal.status },
    );
  }

  private summariseRefused(ledger: PushLedger): void {
    const more = ledger.refusedEvents - MAX_DISCARD_WARNINGS;
    if (more <= 0) return;
    this.options.logger.log('error', `${more} more events refused by the Sekoia intake were discarded`, {
      refused: ledger.refusedEvents,
    });
  }

  /**
   * Sends one part with retries. Resolves with the intake's definitive answer (accepted ones
   * are recorded), or undefined when it failed for good (its events stay pending). Throws only
   * a fatal error or an abort.
   */
  private async send(part: EncodedChunk, push: PushContext): Promise<Answer | undefined> {
    // A body that could not be written as measured (a bug, InvariantError): not sent, its events
    // stay pending, and the push's DeliveryError carries the error. Failed for good, like any
    // other part: a sibling half being narrowed down is still sent.
    if (part.body instanceof InvariantError) {
      push.ledger.recordFailure(part.body);
      return undefined;
    }
    const { body } = part;
    const count = part.indexes.length;
    const { clock, sleep, random, policy, liveness, logger } = this.options;
    // Set when the previous attempt's outcome is unknown: its re-send may duplicate.
    let lost: UnknownOutcomeError | undefined;
    try {
      const answer = await retry(
        async () => {
          if (lost !== undefined) this.possiblyDuplicated(count, lost, push.ledger);
          const decision = await this.attempt(body, count, push.signal);
          lost =
            decision.kind !== 'success' && decision.error instanceof UnknownOutcomeError
              ? decision.error
              : undefined;
          return decision;
        },
        {
          clock,
          sleep,
          random,
          signal: push.signal,
          policy: policy ?? INTAKE_RETRY,
          onRetry: (error, attempt, delayMs) => {
            liveness?.recordPushFailure();
            logger.log('warning', `Pushing ${count} events to the intake failed; retrying in ${delayMs} ms`, {
              reason: error.message,
              attempt: attempt + 1,
            });
          },
        },
      );
      this.lastVerdict = { accepted: answer.kind === 'accepted', at: clock.now() };
      if (answer.kind === 'accepted') this.accepted(part, answer, push.ledger);
      return answer;
    } catch (error) {
      if (!isAbort(error, push.signal)) liveness?.recordPushFailure();
      if (isAbort(error, push.signal) || isFatal(error)) throw error;
      // The caller sends these again, and the intake may hold them already.
      if (error instanceof UnknownOutcomeError) this.possiblyDuplicated(count, error, push.ledger);
      push.ledger.recordFailure(error);
      return undefined;
    }
  }

  private accepted(
    part: EncodedChunk,
    answer: Extract<Answer, { kind: 'accepted' }>,
    ledger: PushLedger,
  ): void {
    const { metrics, liveness, logger } = this.options;
    const count = part.indexes.length;
    ledger.markAcknowledged(part.indexes, answer.ids);
    metrics?.forwarded(count);
    liveness?.recordPushSuccess();
    liveness?.recordEvents();
    const unidentified = count - answer.ids.length;
    if (unidentified <= 0) return;
    // The intake took the batch: sending it again would store every event twice.
    metrics?.unidentified(unidentified);
    if (!ledger.firstTime('unidentified')) return;
    logger.log(
      'warning',
      `The Sekoia intake accepted ${count} events (HTTP ${answer.status}) but its answer named only ${answer.ids.length} of them in "event_ids" (got: ${this.quote(answer.text)}); they count as delivered and are not sent again`,
      { events: count, unidentified },
    );
  }

  private possiblyDuplicated(count: number, lost: UnknownOutcomeError, ledger: PushLedger): void {
    ledger.countPossiblyDuplicated(count);
    this.options.metrics?.possiblyDuplicated(count);
    if (!ledger.firstTime('lost answer')) return;
    this.options.logger.log(
      'warning',
      `The Sekoia intake's answer to ${count} events was lost (${lost.reason}); they are sent again and may appear twice in Sekoia (counted in possibly_duplicated_events_total)`,
      { events: count, reason: lost.reason },
    );
  }

  private attempt(body: Buffer, count: number, signal: AbortSignal): Promise<RetryDecision<Answer>> {
    const request = (): Promise<AxiosResponse<unknown>> =>
      this.http.post<unknown>(this.batchUrl, body, {
        signal,
        headers: { 'Content-Type': 'application/json', 'User-Agent': this.userAgent },
      });
    return exchange(request, this.rules(count), signal).then(lostAnswer);
  }

  /** The intake's own rules: its key, its split-on-refusal policy, its `event_ids` answer. */
  private rules(count: number): ExchangeRules<Answer> {
    return {
      peer: `The Sekoia intake at ${this.batchUrl}`,
      hint: 'Check "intake_server" and the network path to it.',
      clock: this.options.clock,
      secrets: [this.options.intakeKey],
      detail: (text) => `: ${excerpt(text) || '(empty body)'}`,
      unauthorized: {
        message: (status) =>
          `The Sekoia intake rejected the intake key (HTTP ${status}). Check the "intake_key" setting: it must be the key of an intake of your Sekoia community.`,
        field: 'intake_key',
      },
      special: (answer) => this.refusal(answer, count),
      accept: (answer) => this.acknowledged(answer, count),
    };
  }

  /** 400/413 refuse the batch's content: an answer (not retried) that deliver() narrows down. */
  private refusal(answer: HttpAnswer, count: number): RetryDecision<Answer> | undefined {
    const { status } = answer;
    if (!REFUSAL_STATUSES.has(status)) return undefined;
    const error = new ResponseError(
      `The Sekoia intake refused ${count === 1 ? 'an event' : `a batch of ${count} events`} with HTTP ${status}: ${this.quote(answer.text)}`,
      { status, http: { kind: 'rejected', status, excerpt: this.quote(answer.text) } },
    );
    return success({ kind: 'refused', status, error });
  }

  /**
   * A 2xx from the intake means it took the batch, even when `event_ids` is missing or short:
   * sending it again would duplicate every event. Only a body that is not the intake's JSON
   * (an HTML portal, plain text) is treated as someone else answering, and retried.
   */
  private acknowledged(answer: HttpAnswer, count: number): RetryDecision<Answer> {
    const { status, text } = answer;
    const ids = parseAcknowledgement(text);
    if (ids !== undefined) return success({ kind: 'accepted', ids: ids.slice(0, count), status, text });
    const message = `The Sekoia intake answered HTTP ${status} with a body that is not its JSON answer (expected {"event_ids": [...]}, got: ${this.quote(text)}). Check that "intake_server" is the address of a Sekoia intake.`;
    return retryable(malformed(message, answer, this.rules(count)));
  }

  /** Oversized events are never silent: counted, and logged with size and a content hash. */
  private reportOversized(events: readonly string[], oversized: readonly OversizedEvent[]): void {
    if (oversized.length === 0) return;
    const { logger, metrics } = this.options;
    metrics?.discarded(oversized.length);
    const { maxEventBytes, maxBodyBytes } = this.limits;
    for (const { index, bytes } of oversized.slice(0, MAX_DISCARD_WARNINGS)) {
      const sha256 = shortHash(events[index] ?? '');
      logger.log(
        'warning',
        `Event #${index} (sha256 ${sha256}…) was discarded: ${bytes} bytes is over the intake limit of ${maxEventBytes} bytes per event (${maxBodyBytes} per request once JSON-encoded)`,
        { index, bytes, sha256, maxEventBytes },
      );
    }
    if (oversized.length > MAX_DISCARD_WARNINGS) {
      logger.log(
        'warning',
        `${oversized.length - MAX_DISCARD_WARNINGS} more oversized events were discarded`,
        {
          discarded: oversized.length,
        },
      );
    }
  }

  /** A short body excerpt for messages, with the intake key hidden should the intake echo it. */
  private quote(text: string): string {
    return safeExcerpt(text, [this.options.intakeKey]) || '(empty body)';
  }
}

/**
 * A lost answer (the body went out, no verdict came back: reset, timeout, 502, 504) becomes an
 * UnknownOutcomeError, so the re-send is counted as possibly duplicated. Retryability and the
 * Retry-After hint stay the exchange's.
 */
function lostAnswer(decision: RetryDecision<Answer>): RetryDecision<Answer> {
  if (decision.kind === 'success') return decision;
  const { error } = decision;
  const http = error instanceof TransientError ? error.http : undefined;
  if (http?.kind !== 'lost') return decision;
  const reason = http.status === undefined ? (error.cause as Error).message : `HTTP ${http.status}`;
  const message =
    http.status === undefined
      ? error.message.replace(' could not be reached (', ' did not answer (')
      : error.message;
  const lost = new UnknownOutcomeError(message, reason, { cause: error.cause, http });
  return decision.kind === 'retryable' ? retryable(lost, decision.afterMs) : failure(lost);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

function batchUrlOf(base: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(base);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'https:' && parsed?.protocol !== 'http:') {
    throw new ConfigurationError(
      `The intake address "${base}" is not an http(s) URL; set "intake_server" to e.g. https://intake.sekoia.io.`,
      { field: 'intake_server' },
    );
  }
  return `${base.replace(/\/+$/, '')}/batch`;
}

/**
 * The ids of the intake's answer: `[]` for an empty body or a JSON object without a usable
 * `event_ids` (the intake answered, without ids); undefined for anything else.
 */
function parseAcknowledgement(text: string): string[] | undefined {
  if (text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const ids = (parsed as { event_ids?: unknown }).event_ids;
  return Array.isArray(ids) && ids.every((id): id is string => typeof id === 'string') ? ids : [];
}

/** Maps `items` through `task` with at most `limit` in flight, results in input order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  // One iterator shared by the workers: each entry is taken by exactly one of them.
  const queue = items.entries();
  const worker = async (): Promise<void> => {
    for (const [index, item] of queue) results[index] = await task(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
