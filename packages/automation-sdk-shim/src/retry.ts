import { INTAKE_RETRY } from './backoff-policies';
import { TransientError } from './errors';
import type { Clock, Sleep } from './time';

/**
 * A retry decision is a value: the attempt succeeded, may be retried (optionally not before
 * `afterMs`), or failed for good. Callers classify; `retry()` only schedules.
 */
export type RetryDecision<T> =
  | { readonly kind: 'success'; readonly value: T }
  | { readonly kind: 'retryable'; readonly error: Error; readonly afterMs?: number }
  | { readonly kind: 'failure'; readonly error: Error };

export const success = <T>(value: T): RetryDecision<T> => ({ kind: 'success', value });
export const retryable = <T>(error: Error, afterMs?: number): RetryDecision<T> =>
  afterMs === undefined ? { kind: 'retryable', error } : { kind: 'retryable', error, afterMs };
export const failure = <T>(error: Error): RetryDecision<T> => ({ kind: 'failure', error });

export interface BackoffPolicy {
  /** First delay before jitter. */
  initialMs: number;
  /** Cap of a single delay (also caps Retry-After). */
  maxMs: number;
  /** Give up once this much time has passed since the first attempt. */
  deadlineMs: number;
}

/** retry()'s policy when none is given: the intake's (1 s doubling to 1 min, for 1 h). */
export const DEFAULT_BACKOFF: BackoffPolicy = INTAKE_RETRY;

export interface RetryDeps {
  clock: Clock;
  sleep: Sleep;
  /** In [0, 1); injected so tests can pin the jitter. */
  random?: () => number;
}

/** Exponential backoff with "equal jitter": half fixed, half random, so delays never collapse to 0. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/**
 * The wait before attempt `attempt + 1`: the jittered backoff, or the peer's Retry-After hint when
 * longer (a floor, never a reason to hammer: "0" or a past date still backs off), capped at maxMs.
 */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
  afterMs: number | undefined,
): number {
  return Math.min(policy.maxMs, Math.max(afterMs ?? 0, backoffDelay(attempt, policy, random)));
}

/** Parses Retry-After (delta-seconds or HTTP-date) into milliseconds from now. */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** HTTP statuses worth retrying: timeouts, throttling and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export interface RetryOptions extends RetryDeps {
  policy?: BackoffPolicy;
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log or count the retry. */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the deadline passes. A Retry-After
 * hint longer than the computed backoff wins (capped at policy.maxMs). On deadline the last error
 * is thrown, wrapped in a TransientError when it was not one already.
 */
export async function retry<T>(
  attempt: (n: number) => Promise<RetryDecision<T>>,
  options: RetryOptions,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_BACKOFF;
  const random = options.random ?? Math.random;
  const started = options.clock.now();
  for (let n = 0; ; n++) {
    options.signal?.throwIfAborted();
    const decision = await attempt(n);
    if (decision.kind === 'success') return decision.value;
    if (decision.kind === 'failure') throw decision.error;
    const delay = retryDelay(n, policy, random, decision.afterMs);
    const elapsed = options.clock.now() - started;
    if (elapsed + delay > policy.deadlineMs) {
      const error = decision.error;
      throw error instanceof TransientError
        ? error
        : new TransientError(`${error.message} (gave up after ${Math.round(elapsed / 1000)} s of retries)`, {
            cause: error,
          });
    }
    options.onRetry?.(decision.error, n, delay);
    await options.sleep(delay, options.signal);
  }
}
