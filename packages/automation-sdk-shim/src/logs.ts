import type { AxiosInstance } from 'axios';
import { followAbort } from './abort-link';
import { naiveIsoUtc } from './health';
import { describeNetworkError } from './http';
import { Redactor, StdoutLogger, type LogFields, type LogLevel, type Logger } from './logger';
import { LOGS_RETRY } from './backoff-policies';
import { backoffDelay, isRetryableStatus, type BackoffPolicy } from './retry';
import type { Clock } from './time';

/**
 * Ships log entries to the Sekoia logs API (`POST url_logs`, `{"logs":[{date,level,message}]}`)
 * without ever making the caller wait: `log()` writes stdout, buffers, and at most kicks off a
 * background send. The Python SDK flushed error logs synchronously with retries on the calling
 * thread, so a down logs endpoint stalled collection; here it only delays the logs themselves.
 */

/** Whatever the injected setInterval returns (a Node Timeout by default). */
type IntervalHandle = object | number;

export interface LogShipperOptions {
  url: string;
  token: string;
  http: AxiosInstance;
  clock: Clock;
  /** Always written first, whatever happens to the API. */
  local: Logger;
  redactor?: Redactor;
  /** Entries per request, and the buffer size that triggers a send. Default 50. */
  maxBatch?: number;
  /** Periodic send; also when background retries happen. Default 5000. */
  flushIntervalMs?: number;
  /** Identical `level:message` pairs are shipped once per window. Default 60000. */
  dedupWindowMs?: number;
  /** Entries kept while the API is unreachable; the oldest are dropped beyond. Default 1000. */
  maxBuffered?: number;
  /** Per-request timeout. Default 10000. */
  requestTimeoutMs?: number;
  /** Bound on the final send in close(). Default 5000. */
  closeTimeoutMs?: number;
  /** Backoff between failed sends (retries ride on the interval timer). */
  retryPolicy?: BackoffPolicy;
  random?: () => number;
  setInterval?: (callback: () => void, ms: number) => IntervalHandle;
  clearInterval?: (handle: IntervalHandle) => void;
}

interface ShippedEntry {
  date: string;
  level: LogLevel;
  message: string;
}

const DEDUP_CAPACITY = 4096;

export class LogShipper implements Logger {
  private readonly options: Required<
    Pick<
      LogShipperOptions,
      'maxBatch' | 'flushIntervalMs' | 'dedupWindowMs' | 'maxBuffered' | 'requestTimeoutMs' | 'closeTimeoutMs'
    >
  >;
  private readonly redactor: Redactor;
  private readonly retryPolicy: BackoffPolicy;
  private readonly random: () => number;
  private buffer: ShippedEntry[] = [];
  /** `level:message` → time until which repeats are not shipped. */
  private readonly recent = new Map<string, number>();
  private criticalShipped = false;
  private sending: Promise<void> | undefined;
  private timer: IntervalHandle | undefined;
  private failures = 0;
  private retryAt = 0;
  private closed = false;
  /** Aborted when close()'s deadline passes: cuts any request still in flight. */
  private readonly lifetime = new AbortController();
  /** Entries never shipped (buffer bound, refused batches), in total and since last reported. */
  private droppedTotal = 0;
  private droppedUnreported = 0;

  constructor(private readonly deps: LogShipperOptions) {
    this.options = {
      maxBatch: deps.maxBatch ?? 50,
      flushIntervalMs: deps.flushIntervalMs ?? 5_000,
      dedupWindowMs: deps.dedupWindowMs ?? 60_000,
      maxBuffered: deps.maxBuffered ?? 1_000,
      requestTimeoutMs: deps.requestTimeoutMs ?? 10_000,
      closeTimeoutMs: deps.closeTimeoutMs ?? 5_000,
    };
    this.redactor = deps.redactor ?? new Redactor();
    this.retryPolicy = deps.retryPolicy ?? LOGS_RETRY;
    this.random = deps.random ?? Math.random;
  }

  /** Entries that will never reach the logs API (stdout has them). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Never blocks, never throws. */
  log(level: LogLevel, message: string, fields?: LogFields): void {
    try {
      const text = this.redactor.redact(message);
      const safeFields = redactFields(this.redactor, fields);
      this.writeLocal(level, text, safeFields);
      if (this.closed) return;
      const shipped = this.admit(level, text);
      if (shipped === undefined) return;
      this.enqueue({
        date: naiveIsoUtc(this.deps.clock.now()),
        level: shipped,
        message: withFields(text, safeFields),
      });
      const urgent = shipped === 'error' || shipped === 'critical';
      if (urgent || this.buffer.length >= this.options.maxBatch) this.kick();
    } catch {
      // Logging must never break the caller; stdout already has (or failed to take) the line.
    }
  }

  /** Sends everything buffered now (ignoring backoff). Failures re-buffer; never rejects. */
  async flush(): Promise<void> {
    await this.sending;
    await this.startSend(this.options.requestTimeoutMs);
  }

  /** Stops the timer and makes one last send, bounded by closeTimeoutMs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimer();
    // One deadline for the whole close, including a request already in flight.
    const deadline = AbortSignal.timeout(this.options.closeTimeoutMs);
    deadline.addEventListener(
      'abort',
      () => {
        this.lifetime.abort();
      },
      { once: true },
    );
    await this.sending;
    await this.startSend(this.options.closeTimeoutMs);
    if (this.buffer.length > 0) {
      this.deps.local.log(
        'warning',
        `${this.buffer.length} log entries could not be sent to the logs API before exit`,
      );
    }
  }

  /** Applies the single-critical rule and the dedup window; undefined means "do not ship". */
  private admit(level: LogLevel, message: string): LogLevel | undefined {
    // The platform treats a critical as "stop this trigger": one is enough, repeats are errors.
    let shipped = level;
    if (level === 'critical') {
      if (!this.criticalShipped) {
        this.criticalShipped = true;
        return 'critical';
      }
      shipped = 'error';
    }
    const key = `${shipped}:${message}`;
    const now = this.deps.clock.now();
    const until = this.recent.get(key);
    if (until !== undefined && until > now) return undefined;
    this.recent.delete(key);
    this.recent.set(key, now + this.options.dedupWindowMs);
    if (this.recent.size > DEDUP_CAPACITY) {
      const oldest = this.recent.keys().next();
      if (oldest.done !== true) this.recent.delete(oldest.value);
    }
    return shipped;
  }

  private enqueue(entry: ShippedEntry): void {
    this.buffer.push(entry);
    this.trimBuffer();
    this.ensureTimer();
  }

  private trimBuffer(): void {
    const excess = this.buffer.length - this.options.maxBuffered;
    if (excess <= 0) return;
    this.buffer.splice(0, excess);
    this.droppedTotal += excess;
    this.droppedUnreported += excess;
  }

  /** Background send, unless a previous failure asked us to back off. */
  private kick(): void {
    if (this.sending !== undefined || this.deps.clock.now() < this.retryAt) return;
    void this.startSend(this.options.requestTimeoutMs);
  }

  private startSend(timeoutMs: number): Promise<void> {
    this.sending ??= this.sendAll(timeoutMs).finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendAll(timeoutMs: number): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.maxBatch);
      const outcome = await this.post(batch, timeoutMs);
      if (outcome === 'sent') {
        this.failures = 0;
        this.retryAt = 0;
        this.reportDropped();
        continue;
      }
      if (outcome === 'retry') {
        this.buffer.unshift(...batch);
        this.trimBuffer();
        this.failures++;
        this.retryAt = this.deps.clock.now() + backoffDelay(this.failures - 1, this.retryPolicy, this.random);
        return;
      }
      // A refused batch will be refused again: keep the rest flowing.
      this.droppedTotal += batch.length;
    }
  }

  private async post(batch: ShippedEntry[], timeoutMs: number): Promise<'sent' | 'retry' | 'rejected'> {
    // Linked to the shipper's lifetime for this request only (see followAbort).
    const link = followAbort(this.lifetime.signal, timeoutMs);
    try {
      const response = await this.deps.http.post(this.deps.url, JSON.stringify({ logs: batch }), {
        headers: { Authorization: `Bearer ${this.deps.token}`, 'Content-Type': 'application/json' },
        timeout: timeoutMs,
        signal: link.signal,
      });
      if (response.status >= 200 && response.status < 300) return 'sent';
      const retry = isRetryableStatus(response.status);
      this.warnOnce(`the logs API answered HTTP ${response.status}`, retry);
      return retry ? 'retry' : 'rejected';
    } catch (error) {
      this.warnOnce(describeNetworkError(error), true);
      return 'retry';
    } finally {
      link.release();
    }
  }

  /** One stdout warning per failure streak, so an outage does not flood stdout either. */
  private warnOnce(reason: string, willRetry: boolean): void {
    if (this.failures > 0) return;
    const next = willRetry ? 'they stay buffered and are retried in the background' : 'they are dropped';
    this.deps.local.log(
      'warning',
      this.redactor.redact(`Cannot ship logs to ${this.deps.url}: ${reason}; ${next}`),
    );
  }

  /** Once the API answers again, it learns that entries are missing (stdout has them all). */
  private reportDropped(): void {
    if (this.droppedUnreported === 0) return;
    const message = `${this.droppedUnreported} log entries were dropped while the logs API was unreachable`;
    this.droppedUnreported = 0;
    this.deps.local.log('warning', message);
    this.buffer.unshift({ date: naiveIsoUtc(this.deps.clock.now()), level: 'warning', message });
  }

  private writeLocal(level: LogLevel, message: string, fields: LogFields | undefined): void {
    try {
      this.deps.local.log(level, message, fields);
    } catch {
      // stdout failing must not stop shipping either.
    }
  }

  private ensureTimer(): void {
    if (this.timer !== undefined || this.closed) return;
    const set = this.deps.setInterval ?? setInterval;
    this.timer = set(() => {
      this.kick();
    }, this.options.flushIntervalMs);
    // The timer alone must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    const clear =
      this.deps.clearInterval ??
      ((handle: IntervalHandle) => {
        clearInterval(handle as NodeJS.Timeout);
      });
    clear(this.timer);
    this.timer = undefined;
  }
}

/** Wraps a logger and hides secrets learnt after construction (validated configuration). */
export class RedactingLogger implements Logger {
  private readonly secrets = new Set<string>();
  private redactor = new Redactor();

  constructor(
    private readonly inner: Logger,
    secrets: Iterable<unknown> = [],
  ) {
    this.addSecrets(secrets);
  }

  /** Idempotent: a value already known is not added twice. */
  addSecrets(values: Iterable<unknown>): void {
    const before = this.secrets.size;
    for (const value of values) if (typeof value === 'string') this.secrets.add(value);
    if (this.secrets.size !== before) this.redactor = new Redactor(this.secrets);
  }

  redact(text: string): string {
    return this.redactor.redact(text);
  }

  log(level: LogLevel, message: string, fields?: LogFields): void {
    this.inner.log(level, this.redactor.redact(message), redactFields(this.redactor, fields));
  }
}

export type ModuleLogger = Logger & { flush(): Promise<void>; close(): Promise<void> };

export interface ModuleLoggerOptions {
  url?: string | undefined;
  token?: string | undefined;
  http: AxiosInstance;
  clock: Clock;
  redactor: Redactor;
  /** Where stdout lines go; default process.stdout. */
  write?: (line: string) => void;
}

/** Stdout always; the logs API too when a logs URL and a token are configured. */
export function createModuleLogger(options: ModuleLoggerOptions): ModuleLogger {
  const local = new StdoutLogger({
    redactor: options.redactor,
    now: () => options.clock.now(),
    ...(options.write === undefined ? {} : { write: options.write }),
  });
  if (options.url === undefined || options.url === '' || options.token === undefined) {
    return {
      log: (level, message, fields) => {
        local.log(level, message, fields);
      },
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  return new LogShipper({
    url: options.url,
    token: options.token,
    http: options.http,
    clock: options.clock,
    local,
    redactor: options.redactor,
  });
}

function redactFields(redactor: Redactor, fields: LogFields | undefined): LogFields | undefined {
  if (fields === undefined) return undefined;
  const out: Record<string, string | number | boolean | null | undefined> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = typeof value === 'string' ? redactor.redact(value) : value;
  }
  return out;
}

/** The API has no fields: they ride at the end of the message (dedup ignores them). */
function withFields(message: string, fields: LogFields | undefined): string {
  if (fields === undefined) return message;
  const defined = Object.entries(fields).filter(([, value]) => value !== undefined);
  return defined.length === 0 ? message : `${message} ${JSON.stringify(Object.fromEntries(defined))}`;
}
