import { createHash } from 'node:crypto';
import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  AuthenticationError,
  ConfigurationError,
  DeliveryError,
  ResponseError,
  TransientError,
  isAbort,
  isFatal,
} from './errors';
import type { Liveness } from './health';
import { createHttpClient, describeNetworkError, excerpt, isRetryableNetworkError } from './http';
import { Redactor, type Logger } from './logger';
import type { ConnectorMetrics } from './metrics';
import {
  failure,
  isRetryableStatus,
  parseRetryAfter,
  retry,
  retryable,
  success,
  type BackoffPolicy,
  type RetryDecision,
} from './retry';
import { abortError, type Clock, type Sleep } from './time';

/** The intake's documented limits, in UTF-8 bytes. */
export const INTAKE_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const INTAKE_MAX_EVENT_BYTES = 250_000;
export const DEFAULT_INTAKE_USER_AGENT = 'sekoiaio-connector/automation-sdk-shim';
/** Python retries a chunk for 1 h; kept, but only for failures a retry can fix. */
const INTAKE_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, deadlineMs: 3_600_000 };
/** Oversized events are logged one by one up to this many per push, then summarised. */
const MAX_DISCARD_WARNINGS = 10;

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
  maxBodyBytes?: number;
  maxEventBytes?: number;
  /** Batches in flight at once. */
  concurrency?: number;
  policy?: BackoffPolicy;
}

export interface PushOptions {
  signal?: AbortSignal;
}

export interface PushResult {
  /** One id per delivered event, in input order (discarded events have none). */
  eventIds: string[];
  /** Events over the per-event limit, not sent (each one logged). */
  discarded: number;
}

/** One request's worth of events, already JSON-encoded as they appear in the body. */
export interface Batch {
  jsons: string[];
  bodyBytes: number;
}

export interface OversizedEvent {
  /** Position in the pushed list. */
  index: number;
  /** UTF-8 size of the event string. */
  bytes: number;
}

export interface BatchLimits {
  maxBodyBytes: number;
  maxEventBytes: number;
}

/**
 * Splits events greedily into bodies of at most `maxBodyBytes`, counting the exact bytes of
 * the body that will be sent: envelope + each JSON-encoded event + the commas between them.
 * Measuring the escaped UTF-8 form is what keeps multi-byte text and quotes within limits.
 */
export function planBatches(
  events: readonly string[],
  envelopeBytes: number,
  limits: BatchLimits,
): { batches: Batch[]; oversized: OversizedEvent[] } {
  const batches: Batch[] = [];
  const oversized: OversizedEvent[] = [];
  let current: Batch = { jsons: [], bodyBytes: envelopeBytes };
  events.forEach((event, index) => {
    const bytes = Buffer.byteLength(event);
    const encoded = JSON.stringify(event);
    const cost = Buffer.byteLength(encoded);
    if (bytes > limits.maxEventBytes || envelopeBytes + cost > limits.maxBodyBytes) {
      oversized.push({ index, bytes });
      return;
    }
    if (current.jsons.length > 0 && current.bodyBytes + 1 + cost > limits.maxBodyBytes) {
      batches.push(current);
      current = { jsons: [], bodyBytes: envelopeBytes };
    }
    current.bodyBytes += (current.jsons.length > 0 ? 1 : 0) + cost;
    current.jsons.push(encoded);
  });
  if (current.jsons.length > 0) batches.push(current);
  return { batches, oversized };
}

/**
 * Pushes events to a Sekoia intake: byte-exact batches sent in parallel, each retried only
 * when a retry can help, and every event either acknowledged or reported in a thrown error.
 */
export class IntakeClient {
  private readonly batchUrl: string;
  private readonly http: AxiosInstance;
  private readonly envelopeHead: string;
  private readonly limits: BatchLimits;
  private readonly concurrency: number;
  private readonly userAgent: string;
  private readonly redactor: Redactor;

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
    this.http =
      options.http ??
      createHttpClient({ timeoutMs: 30_000, userAgent: this.userAgent, maxSockets: this.concurrency });
    this.envelopeHead = `{"intake_key":${JSON.stringify(options.intakeKey)},"jsons":[`;
    this.limits = {
      maxBodyBytes: options.maxBodyBytes ?? INTAKE_MAX_BODY_BYTES,
      maxEventBytes: options.maxEventBytes ?? INTAKE_MAX_EVENT_BYTES,
    };
    this.redactor = new Redactor([options.intakeKey]);
  }

  /**
   * Resolves once the intake acknowledged every event that fits the limits. Otherwise throws:
   * the fatal error (AuthenticationError) as is, or a DeliveryError counting the undelivered.
   */
  async push(events: readonly (string | object)[], options: PushOptions = {}): Promise<PushResult> {
    const strings = events.map((event) => (typeof event === 'string' ? event : JSON.stringify(event)));
    const envelopeBytes = Buffer.byteLength(this.envelopeHead) + 2; // + "]}"
    const { batches, oversized } = planBatches(strings, envelopeBytes, this.limits);
    this.reportOversized(strings, oversized);
    if (batches.length === 0) return { eventIds: [], discarded: oversized.length };
    const started = this.options.clock.now();
    try {
      return { eventIds: await this.sendAll(batches, options.signal), discarded: oversized.length };
    } finally {
      this.options.metrics?.observeForwardDuration((this.options.clock.now() - started) / 1000);
    }
  }

  private async sendAll(batches: readonly Batch[], signal: AbortSignal | undefined): Promise<string[]> {
    // One fatal answer (a refused key) will be the answer to every batch: stop the others.
    const stop = new AbortController();
    const linked = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    const outcomes = await mapBounded(batches, this.concurrency, async (batch) => {
      try {
        return { batch, ids: await this.sendBatch(batch, linked) };
      } catch (error) {
        if (isFatal(error)) stop.abort();
        return { batch, error };
      }
    });
    if (signal?.aborted === true) throw abortError();
    const fatal = outcomes.find((outcome) => isFatal(outcome.error));
    if (fatal !== undefined) throw fatal.error;
    const failed = outcomes.filter((outcome) => outcome.ids === undefined);
    if (failed.length > 0) throw this.deliveryError(batches, failed);
    return outcomes.flatMap((outcome) => outcome.ids ?? []);
  }

  private async sendBatch(batch: Batch, signal: AbortSignal): Promise<string[]> {
    const body = this.body(batch);
    const count = batch.jsons.length;
    const { clock, sleep, random, policy, liveness, metrics, logger } = this.options;
    try {
      const ids = await retry(() => this.attempt(body, count, signal), {
        clock,
        sleep,
        random,
        signal,
        policy: policy ?? INTAKE_BACKOFF,
        onRetry: (error, attempt, delayMs) => {
          liveness?.recordPushFailure();
          logger.log('warning', `Pushing ${count} events to the intake failed; retrying in ${delayMs} ms`, {
            reason: error.message,
            attempt: attempt + 1,
          });
        },
      });
      metrics?.forwarded(ids.length);
      liveness?.recordPushSuccess();
      liveness?.recordEvents();
      return ids;
    } catch (error) {
      if (!isAbort(error, signal)) liveness?.recordPushFailure();
      throw error;
    }
  }

  /**
   * The request body, written straight into one buffer of the size planBatches measured.
   * Joining megabytes of events into a string first would allocate large strings, which go
   * to the old generation and stay until a full GC: most of the trigger's memory under load.
   */
  private body(batch: Batch): Buffer {
    const body = Buffer.allocUnsafe(batch.bodyBytes);
    let offset = body.write(this.envelopeHead, 0, 'utf8');
    batch.jsons.forEach((json, index) => {
      if (index > 0) offset += body.write(',', offset, 'latin1');
      offset += body.write(json, offset, 'utf8');
    });
    offset += body.write(']}', offset, 'latin1');
    return body.subarray(0, offset);
  }

  private async attempt(body: Buffer, count: number, signal: AbortSignal): Promise<RetryDecision<string[]>> {
    let response: AxiosResponse<unknown>;
    try {
      response = await this.http.post<unknown>(this.batchUrl, body, {
        signal,
        headers: { 'Content-Type': 'application/json', 'User-Agent': this.userAgent },
      });
    } catch (error) {
      if (signal.aborted) return failure(abortError());
      return this.classifyNetworkError(error);
    }
    return this.classifyResponse(response, count);
  }

  private classifyNetworkError(error: unknown): RetryDecision<string[]> {
    const reason = describeNetworkError(error);
    // The axios error holds the request (intake key included): keep only its description.
    const cause = new Error(reason);
    const unreachable = new TransientError(
      `The Sekoia intake at ${this.batchUrl} could not be reached (${reason}); check "intake_server" and the network path to it.`,
      { cause },
    );
    return isRetryableNetworkError(error) ? retryable(unreachable) : failure(unreachable);
  }

  private classifyResponse(response: AxiosResponse<unknown>, count: number): RetryDecision<string[]> {
    const { status } = response;
    const text = bodyText(response.data);
    if (status >= 200 && status < 300) return this.acknowledged(text, status, count);
    if (status === 401 || status === 403) {
      return failure(
        new AuthenticationError(
          `The Sekoia intake rejected the intake key (HTTP ${status}). Check the "intake_key" setting: it must be the key of an intake of your Sekoia community.`,
          { field: 'intake_key' },
        ),
      );
    }
    if (isRetryableStatus(status)) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.options.clock.now());
      const busy = new TransientError(`The Sekoia intake answered HTTP ${status}: ${this.quote(text)}`, {
        retryAfterMs,
      });
      return retryable(busy, retryAfterMs);
    }
    return failure(
      new ResponseError(
        `The Sekoia intake refused a batch of ${count} events with HTTP ${status}: ${this.quote(text)}. Check that "intake_server" is the address of a Sekoia intake; if it is, report this answer.`,
        { status },
      ),
    );
  }

  /** A 2xx only counts when it acknowledges every event; otherwise the batch is sent again. */
  private acknowledged(text: string, status: number, count: number): RetryDecision<string[]> {
    const ids = parseEventIds(text);
    if (ids !== undefined && ids.length >= count) return success(ids.slice(0, count));
    return retryable(
      new ResponseError(
        `The Sekoia intake answered HTTP ${status} without acknowledging the ${count} events sent (expected {"event_ids": [...]}, got: ${this.quote(text)}). Check that "intake_server" is the address of a Sekoia intake.`,
        { status },
      ),
    );
  }

  private deliveryError(
    batches: readonly Batch[],
    failed: readonly { batch: Batch; error?: unknown }[],
  ): DeliveryError {
    const total = batches.reduce((sum, batch) => sum + batch.jsons.length, 0);
    const undelivered = failed.reduce((sum, outcome) => sum + outcome.batch.jsons.length, 0);
    const first = failed[0]?.error;
    const reason = first instanceof Error ? first.message : String(first);
    return new DeliveryError(
      `${undelivered} of ${total} events were not delivered to the Sekoia intake and must be sent again: ${reason}`,
      undelivered,
      { cause: first },
    );
  }

  /** Oversized events are never silent: counted, and logged with size and a content hash. */
  private reportOversized(events: readonly string[], oversized: readonly OversizedEvent[]): void {
    if (oversized.length === 0) return;
    const { logger, metrics } = this.options;
    metrics?.discarded(oversized.length);
    const { maxEventBytes, maxBodyBytes } = this.limits;
    for (const { index, bytes } of oversized.slice(0, MAX_DISCARD_WARNINGS)) {
      const sha256 = createHash('sha256')
        .update(events[index] ?? '')
        .digest('hex')
        .slice(0, 12);
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
    return excerpt(this.redactor.redact(text.slice(0, 2_000)), 200) || '(empty body)';
  }
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

function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return data === undefined || data === null ? '' : JSON.stringify(data);
}

function parseEventIds(text: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ids = (parsed as { event_ids?: unknown } | null)?.event_ids;
  return Array.isArray(ids) && ids.every((id): id is string => typeof id === 'string') ? ids : undefined;
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
