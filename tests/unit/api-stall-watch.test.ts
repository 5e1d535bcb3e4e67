import { Liveness } from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryLogger } from '@sekoia/automation-sdk-shim/testing';
import {
  ApiStallWatch,
  likelyCause,
  type AttemptFailure,
} from '../../trigger_fetch_new_logs/api-stall-watch';

const MINUTE = 60_000;
const refused: AttemptFailure = { kind: 'network', network: 'refused', code: 'ECONNREFUSED' };

function setup(thresholdMs = 30 * MINUTE) {
  const clock = new ManualClock();
  const logger = new MemoryLogger();
  const liveness = new Liveness({ clock, sourceFailureThresholdSeconds: 1800 });
  const watch = new ApiStallWatch({
    clock,
    logger,
    host: 'api.tmes.trendmicro.eu',
    thresholdMs,
    health: liveness,
  });
  return { clock, logger, liveness, watch };
}

describe('ApiStallWatch', () => {
  it('one critical once a stream has failed for the threshold, none before, none after; recovery is info', () => {
    const { clock, logger, watch } = setup();
    watch.failed('accepted_traffic', refused);
    for (let i = 0; i < 29; i++) {
      clock.advance(MINUTE);
      watch.failed('accepted_traffic', refused);
    }
    clock.advance(MINUTE - 1);
    watch.failed('accepted_traffic', refused);
    expect(logger.messages('critical')).toEqual([]);
    clock.advance(1);
    watch.failed('accepted_traffic', refused);
    for (let i = 0; i < 100; i++) {
      clock.advance(MINUTE);
      watch.failed('accepted_traffic', refused);
    }
    expect(logger.messages('critical')).toEqual([
      'accepted_traffic: no page could be read from the Trend Micro API at api.tmes.trendmicro.eu for 30 minutes: the connection is refused (ECONNREFUSED). Check the host and port of "service_url", and that a firewall or proxy lets this machine reach it. Collection keeps retrying and catches up once the API answers (logs older than 72 hours can no longer be read).',
    ]);
    watch.succeeded('accepted_traffic');
    expect(logger.messages('info')).toEqual([
      'accepted_traffic: the Trend Micro API answers again after 130 minutes without a page; collection resumed.',
    ]);
    watch.succeeded('accepted_traffic');
    expect(logger.messages('info')).toHaveLength(1);
  });

  it('a success inside the threshold resets the streak: short outages stay quiet', () => {
    const { clock, logger, watch } = setup();
    for (let i = 0; i < 10; i++) {
      watch.failed('blocked_traffic', refused);
      clock.advance(20 * MINUTE);
      watch.succeeded('blocked_traffic');
    }
    expect(logger.entries).toEqual([]);
  });

  it('several streams stalled together: one critical, the others are errors', () => {
    const { clock, logger, watch } = setup();
    for (const stream of ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const)
      watch.failed(stream, refused);
    clock.advance(31 * MINUTE);
    for (const stream of ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const)
      watch.failed(stream, refused);
    expect(logger.messages('critical')).toHaveLength(1);
    expect(logger.messages('error')).toHaveLength(2);
  });

  it('names the cause seen most often in the streak (a slow resolver mixes timeouts into DNS failures)', () => {
    const { clock, logger, watch } = setup();
    const dns: AttemptFailure = { kind: 'network', network: 'dns', code: 'ENOTFOUND' };
    const timeout: AttemptFailure = { kind: 'network', network: 'timeout', code: 'ECONNABORTED' };
    for (let i = 0; i < 31; i++) {
      watch.failed('policy_events', i % 5 === 4 ? timeout : dns);
      clock.advance(MINUTE);
    }
    watch.failed('policy_events', timeout);
    expect(logger.messages('critical')[0]).toMatch(/its host name does not resolve \(ENOTFOUND\)/);
  });

  it('keeps /health informed: failing sources and since when', () => {
    const { clock, liveness, watch } = setup();
    watch.failed('accepted_traffic', refused);
    clock.advance(31 * MINUTE);
    expect(liveness.isAlive()).toBe(false);
    expect(liveness.body().failing_sources).toEqual(['accepted_traffic']);
    watch.succeeded('accepted_traffic');
    expect(liveness.isAlive()).toBe(true);
    expect(liveness.body().source_failing_since).toBeNull();
  });

  it.each<[AttemptFailure, RegExp]>([
    [
      { kind: 'network', network: 'dns', code: 'EAI_AGAIN' },
      /does not resolve \(EAI_AGAIN\)\. Check that "service_url" is your region's API host/,
    ],
    [
      { kind: 'network', network: 'tls', code: 'CERT_HAS_EXPIRED' },
      /TLS connection fails \(CERT_HAS_EXPIRED\): the certificate or the handshake/,
    ],
    [{ kind: 'network', network: 'timeout', code: 'ETIMEDOUT' }, /requests time out \(ETIMEDOUT\)/],
    [{ kind: 'network', network: 'unreachable', code: 'EHOSTUNREACH' }, /no network route/],
    [
      { kind: 'status', status: 503 },
      /the Trend Micro service is failing \(HTTP 503\)\. Nothing to change on this side/,
    ],
    [{ kind: 'status', status: 429 }, /throttling requests \(HTTP 429\)\. Nothing to change in the settings/],
    [{ kind: 'body' }, /pages that cannot be read/],
  ])('names the likely cause and the fix: %o', (failure, says) => {
    expect(likelyCause(failure)).toMatch(says);
  });
});
