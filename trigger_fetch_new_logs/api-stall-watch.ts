import type { Clock, Logger, NetworkFailureKind } from '@sekoia/automation-sdk-shim';
import type { StreamName } from './streams';

/** Why one page request failed, reduced to what names the cause: no request, no headers. */
export type AttemptFailure =
  | { readonly kind: 'network'; readonly network: NetworkFailureKind; readonly code: string | undefined }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'body' };

/** Told of every page request the client makes, once it knows how it went. */
export interface PageAttemptObserver {
  succeeded(stream: StreamName): void;
  /** `attempt`: when the request was sent, and the Retry-After of the answer (for throttling). */
  failed(stream: StreamName, failure: AttemptFailure, attempt?: AttemptTiming): void;
}

export interface AttemptTiming {
  readonly sentAt: number;
  readonly retryAfterMs?: number | undefined;
}

/** Where a failure streak goes besides the logs: the shim's Liveness (/health). */
export interface SourceHealth {
  recordSourceFailure(source: string): void;
  recordSourceSuccess(source: string): void;
}

export interface ApiStallWatchOptions {
  clock: Clock;
  logger: Logger;
  /** Host of service_url, named in the messages (never a secret). */
  host: string;
  /** A stream that has read no page for this long is stalled; default 30 minutes. */
  thresholdMs?: number;
  health?: SourceHealth;
}

interface Streak {
  since: number;
  /** Failures seen in this streak, by cause: the most frequent one is named. */
  causes: Map<string, { failure: AttemptFailure; count: number }>;
  reported: boolean;
}

export const DEFAULT_STALL_THRESHOLD_MS = 30 * 60_000;

/**
 * Turns page failures that go on into one loud message. Every failed attempt is already logged
 * (warning, error) and retried; but a stream that cannot read the API for half an hour (wrong
 * region host, DNS, TLS interception, a long Trend Micro outage) needs someone to act or know:
 * one critical (the playbook shows the trigger in error, as the Python SDK does after repeated
 * errors) naming the likely cause and the fix, then one info when a page is read again.
 * Collection keeps retrying all along. One watch serves every stream; state is per stream.
 */
export class ApiStallWatch implements PageAttemptObserver {
  private readonly thresholdMs: number;
  private readonly streaks = new Map<StreamName, Streak>();

  constructor(private readonly options: ApiStallWatchOptions) {
    this.thresholdMs = options.thresholdMs ?? DEFAULT_STALL_THRESHOLD_MS;
  }

  failed(stream: StreamName, failure: AttemptFailure): void {
    const now = this.options.clock.now();
    const streak: Streak = this.streaks.get(stream) ?? { since: now, causes: new Map(), reported: false };
    const key = causeKey(failure);
    const seen = streak.causes.get(key);
    // Delete first so that, on a tie, the most recent cause comes last and wins.
    streak.causes.delete(key);
    streak.causes.set(key, { failure, count: (seen?.count ?? 0) + 1 });
    this.streaks.set(stream, streak);
    this.options.health?.recordSourceFailure(stream);
    if (streak.reported || now - streak.since < this.thresholdMs) return;
    streak.reported = true;
    // The platform needs one critical; a second stream stalled at the same time is an error.
    const othersReported = [...this.streaks].some(([name, s]) => name !== stream && s.reported);
    this.options.logger.log(othersReported ? 'error' : 'critical', this.stalledMessage(stream, streak, now), {
      stream,
    });
  }

  succeeded(stream: StreamName): void {
    const streak = this.streaks.get(stream);
    this.options.health?.recordSourceSuccess(stream);
    if (streak === undefined) return;
    this.streaks.delete(stream);
    if (!streak.reported) return;
    const minutes = Math.round((this.options.clock.now() - streak.since) / 60_000);
    this.options.logger.log(
      'info',
      `${stream}: the Trend Micro API answers again after ${minutes} minutes without a page; collection resumed.`,
      { stream },
    );
  }

  private stalledMessage(stream: StreamName, streak: Streak, now: number): string {
    const minutes = Math.round((now - streak.since) / 60_000);
    return `${stream}: no page could be read from the Trend Micro API at ${this.options.host} for ${minutes} minutes: ${likelyCause(mostFrequent(streak))} Collection keeps retrying and catches up once the API answers (logs older than 72 hours can no longer be read).`;
  }
}

function causeKey(failure: AttemptFailure): string {
  if (failure.kind === 'network') return `network ${failure.network} ${failure.code ?? ''}`;
  return failure.kind === 'status' ? `status ${failure.status}` : 'body';
}

/**
 * A DNS failure can alternate with timeouts (a resolver that is slow to say no): the cause seen
 * most often in the streak is the one to name, not merely the last.
 */
function mostFrequent(streak: Streak): AttemptFailure {
  let best: { failure: AttemptFailure; count: number } | undefined;
  for (const entry of streak.causes.values())
    if (best === undefined || entry.count >= best.count) best = entry;
  if (best === undefined) throw new Error('a streak has at least one failure');
  return best.failure;
}

/** The likely cause of a failure and what to do about it, in one or two sentences. */
export function likelyCause(failure: AttemptFailure): string {
  if (failure.kind === 'status') return statusCause(failure.status);
  if (failure.kind === 'body') {
    return 'the API answers with pages that cannot be read (not JSON, or not the documented shape): a proxy in the way, or a failing Trend Micro service.';
  }
  const code = failure.code === undefined ? '' : ` (${failure.code})`;
  switch (failure.network) {
    case 'dns':
      return `its host name does not resolve${code}. Check that "service_url" is your region's API host (e.g. api.tmes.trendmicro.com, api.tmes.trendmicro.eu) and that this machine's DNS works.`;
    case 'tls':
      return `the TLS connection fails${code}: the certificate or the handshake is refused. A proxy intercepting HTTPS, or a "service_url" that is not a Trend Micro API host, causes this.`;
    case 'refused':
      return `the connection is refused${code}. Check the host and port of "service_url", and that a firewall or proxy lets this machine reach it.`;
    case 'timeout':
      return `requests time out${code}. Check that a firewall or proxy lets this machine reach the host; a Trend Micro outage causes this too.`;
    case 'unreachable':
      return `the host cannot be reached${code}: no network route from this machine. Check its network, firewall and proxy.`;
    default:
      return `the connection fails${code}. Check that this machine can reach the host (network, firewall, proxy).`;
  }
}

function statusCause(status: number): string {
  if (status === 429) {
    return 'the Trend Micro API keeps throttling requests (HTTP 429). Nothing to change in the settings; another client sharing the API key can cause it.';
  }
  if (status >= 500) {
    return `the Trend Micro service is failing (HTTP ${status}). Nothing to change on this side; collection resumes when it recovers.`;
  }
  return `the API keeps answering HTTP ${status}. Check "service_url" and the module version against Trend Micro's API documentation.`;
}
