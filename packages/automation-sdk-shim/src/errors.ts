/**
 * The few error classes the runtime and modules speak. Each carries a message that tells
 * the user what to do, and the underlying `cause`. The owner of a decision (the run loop,
 * a stream, a CLI command) branches on the class, never on message text.
 *
 * - ConfigurationError: a setting is wrong; retrying will not help. Fatal for the trigger.
 * - AuthenticationError: credentials were refused; retrying will not help. Fatal.
 * - TransientError: the peer is unavailable or slow; retry later (`retryAfterMs` if known).
 * - ResponseError: the peer answered something we cannot use (HTML instead of JSON, a
 *   truncated body, a wrong shape). Usually transient on the wire, so the run loop retries it.
 * - InvariantError: our own bug (a guarantee of the code broken); its message says so.
 */
export interface SekoiaErrorOptions {
  cause?: unknown;
  /** Name of the setting (or field) the message is about, for forms and tests. */
  field?: string;
  /** What an HTTP exchange came to, when the error reports one (see exchange.ts). */
  http?: HttpFacts;
}

/**
 * What an HTTP exchange came to, in words a caller can branch on:
 * - unreachable: no answer, and the request provably never reached the peer (refused, DNS);
 * - lost: the request went out, the answer did not come back (reset, timeout, 502, 504): the
 *   peer may have acted on it;
 * - unauthorized: 401 or 403; throttled: 429; unavailable: 408, 425 and other 5xx;
 * - rejected: any other status that is not 2xx; malformed: a 2xx whose body the caller cannot read.
 */
export type HttpFailureKind =
  'unreachable' | 'lost' | 'unauthorized' | 'throttled' | 'unavailable' | 'rejected' | 'malformed';

/** The safe facts of a failed exchange: never a header, never the request; the excerpt is redacted. */
export interface HttpFacts {
  readonly kind: HttpFailureKind;
  /** The HTTP status, when an answer came back. */
  readonly status?: number;
  /** At most 200 characters of the body, on one line, with known secrets hidden. */
  readonly excerpt?: string;
  /** The transport failure's code (ECONNREFUSED, ETIMEDOUT…), when no answer came back. */
  readonly code?: string;
}

export abstract class SekoiaError extends Error {
  readonly field: string | undefined;
  readonly http: HttpFacts | undefined;

  protected constructor(message: string, options: SekoiaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.field = options.field;
    this.http = options.http;
  }

  /** Serialised form: message and class only. Causes may carry request config (and secrets). */
  toJSON(): { name: string; message: string; field?: string } {
    return this.field === undefined
      ? { name: this.name, message: this.message }
      : { name: this.name, message: this.message, field: this.field };
  }
}

export class ConfigurationError extends SekoiaError {
  /** Every problem found, when a whole configuration was validated at once. */
  readonly problems: readonly string[];

  constructor(message: string, options: SekoiaErrorOptions & { problems?: readonly string[] } = {}) {
    super(message, options);
    this.problems = options.problems ?? [message];
  }
}

export class AuthenticationError extends SekoiaError {
  constructor(message: string, options: SekoiaErrorOptions = {}) {
    super(message, options);
  }
}

export class TransientError extends SekoiaError {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: SekoiaErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

export class ResponseError extends SekoiaError {
  /** HTTP status, when the response had one. */
  readonly status: number | undefined;

  constructor(message: string, options: SekoiaErrorOptions & { status?: number } = {}) {
    super(message, options);
    this.status = options.status;
  }
}

/**
 * Raised when pushing to the intake did not deliver every event. The events of a push are
 * split in two: `acknowledged` lists those the caller must NOT send again (the intake
 * acknowledged them, or they were deliberately discarded: oversized, refused by the intake);
 * the `undelivered` others must be sent again.
 */
export class DeliveryError extends TransientError {
  /** Sorted indexes, into the list given to push, of the events not to send again. */
  readonly acknowledged: readonly number[];

  constructor(
    message: string,
    readonly undelivered: number,
    options: SekoiaErrorOptions & { retryAfterMs?: number; acknowledged?: readonly number[] } = {},
  ) {
    super(message, options);
    this.acknowledged = Object.freeze([...(options.acknowledged ?? [])]);
  }
}

/**
 * A bug: something the code itself guarantees did not hold (an intake body of another size than
 * measured). Not the peer's doing, nor the user's: the message says it is a bug to report, and
 * what became of the data (nothing was sent, nothing acknowledged). Not fatal: the data it
 * concerns stays pending (never lost, never taken for delivered) while the rest goes on.
 */
export class InvariantError extends SekoiaError {
  constructor(message: string, options: SekoiaErrorOptions = {}) {
    super(message, options);
  }
}

/** Configuration and authentication problems stop a trigger: retrying cannot fix them. */
export function isFatal(error: unknown): error is ConfigurationError | AuthenticationError {
  return error instanceof ConfigurationError || error instanceof AuthenticationError;
}

/** True when the operation was cancelled through its AbortSignal (shutdown). */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted === true) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'CanceledError');
}

/** A short, single-line description of any thrown value, safe to log once redacted. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
