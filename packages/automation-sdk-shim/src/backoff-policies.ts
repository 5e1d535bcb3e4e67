import type { BackoffPolicy } from './retry';

/**
 * Every backoff of the runtime and its modules, by what it paces: "how long do we wait, and for
 * how long do we try" is answered here and nowhere else. Equal values keep separate names, so
 * one can be tuned without moving the others.
 */

const MINUTE = 60_000;
const FOREVER = Number.POSITIVE_INFINITY;

function policy(initialMs: number, maxMs: number, deadlineMs: number): BackoffPolicy {
  return Object.freeze({ initialMs, maxMs, deadlineMs });
}

/** A trigger's run() that failed: 5 s doubling to 5 min, for as long as it takes. */
export const RUNTIME_RESTART = policy(5_000, 5 * MINUTE, FOREVER);

/** One stream of a collecting trigger whose step failed: as RUNTIME_RESTART, per stream. */
export const STREAM_RETRY = policy(5_000, 5 * MINUTE, FOREVER);

/** One page request of a source API, before the failure goes up to its stream. */
export const PAGE_RETRY = policy(1_000, MINUTE, 10 * MINUTE);

/** One batch pushed to the intake: Python retries a chunk for 1 h; kept, for failures a retry can fix. */
export const INTAKE_RETRY = policy(1_000, MINUTE, 60 * MINUTE);

/** The secrets API at start: about the Python SDK's 10 attempts with waits up to 10 s. */
export const SECRETS_RETRY = policy(1_000, 10_000, 2 * MINUTE);

/** Log lines shipped to the logs API: 5 s doubling to 5 min, never given up (lines stay buffered). */
export const LOGS_RETRY = policy(5_000, 5 * MINUTE, FOREVER);

/** One attempt, no retry (a command-line check must answer at once). */
export const NO_RETRY = policy(0, 0, -1);
