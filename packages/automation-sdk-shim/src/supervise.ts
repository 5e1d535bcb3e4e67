import { TransientError, isFatal } from './errors';
import { retryDelay, type BackoffPolicy } from './retry';
import type { Sleep } from './time';

/** How a failed attempt is treated: the loop ends (stop, fatal) or backs off and tries again. */
export type FailureClass = 'stop' | 'fatal' | 'transient';

/** Why the loop ended: a stop (with what the last attempt threw, if it threw), or a fatal error. */
export type SuperviseEnd =
  | { readonly kind: 'stopped'; readonly error?: unknown }
  | { readonly kind: 'fatal'; readonly error: unknown };

export interface SuperviseOptions {
  /** Aborts the loop: no attempt starts after it, and a wait in progress ends at once. */
  readonly signal: AbortSignal;
  /** The backoff between failed attempts; its deadline is ignored (the loop runs until stopped). */
  readonly policy: BackoffPolicy;
  readonly sleep: Sleep;
  /** In [0, 1); injected so tests can pin the jitter. */
  readonly random?: () => number;
  /** Default: the signal aborted → stop; ConfigurationError, AuthenticationError → fatal; else transient. */
  readonly classify?: (error: unknown) => FailureClass;
  /** A transient failure, before its wait: log it, count it. `failures` counts this one. */
  readonly onTransient?: (error: unknown, failures: number, delayMs: number) => void;
  /** After every attempt and its wait, unless the loop ends (e.g. a lag gauge). */
  readonly afterEach?: () => void;
}

/**
 * "Run forever with backoff": calls `attempt` until the signal aborts or an attempt fails for
 * good. An attempt resolves with how long to wait before the next one (0: at once); a transient
 * failure waits the policy's jittered backoff (never less than a TransientError's retryAfterMs),
 * and a success resets the backoff. Failures are values here: the caller decides what a fatal
 * end means (idle, rethrow).
 */
export async function supervise(
  attempt: (signal: AbortSignal) => Promise<number>,
  options: SuperviseOptions,
): Promise<SuperviseEnd> {
  const { signal, sleep } = options;
  const classify = options.classify ?? ((error: unknown) => defaultClass(error, signal));
  const random = options.random ?? Math.random;
  let failures = 0;
  while (!signal.aborted) {
    let waitMs: number;
    try {
      waitMs = await attempt(signal);
      failures = 0;
    } catch (error) {
      const verdict = classify(error);
      if (verdict === 'stop') return { kind: 'stopped', error };
      if (verdict === 'fatal') return { kind: 'fatal', error };
      waitMs = retryDelay(failures++, options.policy, random, retryAfterOf(error));
      options.onTransient?.(error, failures, waitMs);
    }
    if (waitMs > 0 && !(await wait(sleep, waitMs, signal))) return { kind: 'stopped' };
    options.afterEach?.();
  }
  return { kind: 'stopped' };
}

function defaultClass(error: unknown, signal: AbortSignal): FailureClass {
  if (signal.aborted) return 'stop';
  return isFatal(error) ? 'fatal' : 'transient';
}

function retryAfterOf(error: unknown): number | undefined {
  return error instanceof TransientError ? error.retryAfterMs : undefined;
}

/** Sleeps; false when the signal aborted the wait. Any other failure of `sleep` is thrown. */
async function wait(sleep: Sleep, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch (error) {
    if (signal.aborted) return false;
    throw error;
  }
}
