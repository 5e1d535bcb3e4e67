import type { IncomingMessage, ServerResponse } from 'node:http';
import { ListeningServer, type ListenOptions } from './http-server';
import type { Clock } from './time';

export interface LivenessOptions {
  clock: Clock;
  /** Unhealthy when no events for this long; 0 (default) = off, so a quiet source stays alive. */
  secondsWithoutEventsThreshold?: number;
  /** Unhealthy when pushes have failed, with no success, for this long; default 900, 0 = off. */
  pushFailureThresholdSeconds?: number;
  /**
   * Unhealthy when a source (what the trigger reads from, e.g. one stream of a third-party API)
   * has failed, with no success, for this long; default 0 = off.
   */
  sourceFailureThresholdSeconds?: number;
}

/** The Python SDK's /health body (same keys), plus when pushes started failing. */
export interface LivenessReport {
  last_events_time: string;
  last_heartbeat: string;
  seconds_without_events_threshold: number;
  last_heartbeat_threshold: number;
  error_count: number;
  push_failing_since: string | null;
  /** Start of the oldest failure streak among the sources now failing. */
  source_failing_since: string | null;
  /** Names of the sources now failing (as given to recordSourceFailure), sorted. */
  failing_sources: string[];
}

/**
 * What the platform's liveness probe sees. Unlike the Python SDK, a connector whose every
 * push fails is reported dead (it was reported healthy there), and a connector on a quiet
 * source is not (it was restarted after 6 h there): delivery, not traffic, is what matters.
 * A source that cannot be read at all (its API unreachable) is a failure streak too, per
 * source name, when the trigger opts in with a threshold.
 */
export class Liveness {
  private readonly clock: Clock;
  private readonly eventsThresholdMs: number;
  private readonly pushFailureThresholdMs: number;
  private readonly sourceFailureThresholdMs: number;
  /** Source name → start of its current failure streak. */
  private readonly sourceFailingSince = new Map<string, number>();
  private lastEventsAt: number;
  /** Python's /health reports a heartbeat nothing here beats: the start time, threshold 0. */
  private readonly startedAt: number;
  private pushFailingSince: number | undefined;
  private errorCount = 0;

  constructor(private readonly options: LivenessOptions) {
    this.clock = options.clock;
    this.eventsThresholdMs = (options.secondsWithoutEventsThreshold ?? 0) * 1000;
    this.pushFailureThresholdMs = (options.pushFailureThresholdSeconds ?? 900) * 1000;
    this.sourceFailureThresholdMs = (options.sourceFailureThresholdSeconds ?? 0) * 1000;
    // Like Python: the grace periods start when the process starts.
    this.lastEventsAt = this.startedAt = this.clock.now();
  }

  /** Events were collected and acknowledged; as in Python, this also clears the error count. */
  recordEvents(): void {
    this.lastEventsAt = this.clock.now();
    this.errorCount = 0;
  }

  recordPushSuccess(): void {
    this.pushFailingSince = undefined;
  }

  /** A push attempt failed; only the first failure of a streak starts the clock. */
  recordPushFailure(): void {
    this.pushFailingSince ??= this.clock.now();
  }

  /** Reading `source` failed; only the first failure of a streak starts its clock. */
  recordSourceFailure(source = 'source'): void {
    if (!this.sourceFailingSince.has(source)) this.sourceFailingSince.set(source, this.clock.now());
  }

  /** Reading `source` worked: its failure streak, if any, ends. */
  recordSourceSuccess(source = 'source'): void {
    this.sourceFailingSince.delete(source);
  }

  /** Forgets every source streak (e.g. once the trigger idles after a fatal error). */
  clearSourceFailures(): void {
    this.sourceFailingSince.clear();
  }

  recordError(): void {
    this.errorCount++;
  }

  isAlive(): boolean {
    const now = this.clock.now();
    const within = (since: number | undefined, thresholdMs: number): boolean =>
      thresholdMs <= 0 || since === undefined || now - since < thresholdMs;
    return (
      within(this.lastEventsAt, this.eventsThresholdMs) &&
      within(this.pushFailingSince, this.pushFailureThresholdMs) &&
      within(this.oldestSourceFailure(), this.sourceFailureThresholdMs)
    );
  }

  body(): LivenessReport {
    const sourceSince = this.oldestSourceFailure();
    return {
      last_events_time: naiveIsoUtc(this.lastEventsAt),
      last_heartbeat: naiveIsoUtc(this.startedAt),
      seconds_without_events_threshold: this.options.secondsWithoutEventsThreshold ?? 0,
      last_heartbeat_threshold: 0,
      error_count: this.errorCount,
      push_failing_since: this.pushFailingSince === undefined ? null : naiveIsoUtc(this.pushFailingSince),
      source_failing_since: sourceSince === undefined ? null : naiveIsoUtc(sourceSince),
      failing_sources: [...this.sourceFailingSince.keys()].sort(),
    };
  }

  private oldestSourceFailure(): number | undefined {
    let oldest: number | undefined;
    for (const since of this.sourceFailingSince.values()) oldest = Math.min(oldest ?? since, since);
    return oldest;
  }
}

/** Python's naive `datetime.isoformat()`: no offset, microseconds only when non-zero. */
export function naiveIsoUtc(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const seconds = iso.slice(0, 19);
  const millis = iso.slice(20, 23);
  return millis === '000' ? seconds : `${seconds}.${millis}000`;
}

export interface HealthServerOptions extends ListenOptions {
  liveness: Liveness;
}

/** GET /health → 200 alive / 500 dead with the liveness report; anything else → 404. */
export class HealthServer extends ListeningServer {
  constructor(options: HealthServerOptions) {
    super(options, (request, response) => {
      answerHealth(options.liveness, request, response);
    });
  }
}

function answerHealth(liveness: Liveness, request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/health') {
    sendJson(response, 404, { status_code: 404, reason: "Endpoint doesn't exist" });
    return;
  }
  sendJson(response, liveness.isAlive() ? 200 : 500, liveness.body());
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
