import { DeliveryError } from '../src/errors';
import { HealthServer, Liveness, naiveIsoUtc } from '../src/health';
import { createHttpClient } from '../src/http';
import { ConnectorMetrics, MetricsServer } from '../src/metrics';
import type { Sleep } from '../src/time';
import { ManualClock } from '../src/testing';
import { INTAKE_KEY, startIntakeHarness } from './helpers/intake-harness';

const http = createHttpClient({ timeoutMs: 5_000 });
const MINUTE = 60_000;

describe('ConnectorMetrics', () => {
  it("exposes the Python SDK's four metrics with the intake_key label", async () => {
    const metrics = new ConnectorMetrics({ intakeKey: 'key-a' });
    metrics.forwarded(3);
    metrics.observeForwardDuration(0.2);
    metrics.discarded(2);
    metrics.setLag(42);
    const text = await metrics.registry.metrics();

    expect(text).toContain('symphony_module_common_forwarded_events_total{intake_key="key-a"} 3');
    expect(text).toContain(
      'symphony_module_common_forward_events_duration_bucket{le="0.25",intake_key="key-a"} 1',
    );
    expect(text).toContain('symphony_module_common_forward_events_duration_sum{intake_key="key-a"} 0.2');
    expect(text).toContain('symphony_module_common_forward_events_duration_count{intake_key="key-a"} 1');
    expect(text).toContain('symphony_module_common_discarded_events_total{intake_key="key-a"} 2');
    expect(text).toContain('symphony_module_common_events_lags{intake_key="key-a"} 42');
    // prometheus_client's default buckets, which prom-client's defaults lack.
    for (const le of ['0.075', '0.75', '7.5']) {
      expect(text).toContain(
        `symphony_module_common_forward_events_duration_bucket{le="${le}",intake_key="key-a"}`,
      );
    }
  });

  it('shows zero counters before anything was forwarded', async () => {
    const text = await new ConnectorMetrics({ intakeKey: 'key-a' }).registry.metrics();
    expect(text).toContain('symphony_module_common_forwarded_events_total{intake_key="key-a"} 0');
    expect(text).toContain('symphony_module_common_discarded_events_total{intake_key="key-a"} 0');
  });

  it('gives each instance its own registry', async () => {
    const a = new ConnectorMetrics({ intakeKey: 'key-a' });
    const b = new ConnectorMetrics({ intakeKey: 'key-b' });
    a.forwarded(5);

    expect(a.registry).not.toBe(b.registry);
    const textB = await b.registry.metrics();
    expect(textB).not.toContain('key-a');
    expect(textB).toContain('symphony_module_common_forwarded_events_total{intake_key="key-b"} 0');
  });

  it('serves the registry on any path with the Prometheus content type', async () => {
    const metrics = new ConnectorMetrics({ intakeKey: 'key-a' });
    metrics.forwarded(9);
    const server = new MetricsServer({ registry: metrics.registry, port: 0, host: '127.0.0.1' });
    const port = await server.start();
    try {
      for (const path of ['/metrics', '/']) {
        const response = await http.get<string>(`http://127.0.0.1:${port}${path}`);
        expect(response.status).toBe(200);
        expect(response.headers['content-type']).toBe(metrics.registry.contentType);
        expect(response.data).toContain(
          'symphony_module_common_forwarded_events_total{intake_key="key-a"} 9',
        );
      }
    } finally {
      await server.stop();
    }
  });
});

describe('Liveness', () => {
  it('stays alive on a quiet source whose pushes do not fail', () => {
    const clock = new ManualClock();
    const liveness = new Liveness({ clock });
    clock.advance(7 * 24 * 60 * MINUTE);
    expect(liveness.isAlive()).toBe(true);
  });

  it('dies once pushes have failed with no success for longer than the threshold', () => {
    const clock = new ManualClock();
    const liveness = new Liveness({ clock, pushFailureThresholdSeconds: 900 });
    liveness.recordPushFailure();
    clock.advance(10 * MINUTE);
    liveness.recordPushFailure(); // a later failure does not restart the streak
    clock.advance(5 * MINUTE - 1);
    expect(liveness.isAlive()).toBe(true);
    clock.advance(1);
    expect(liveness.isAlive()).toBe(false);
    liveness.recordPushSuccess();
    expect(liveness.isAlive()).toBe(true);
  });

  it('dies once a source has failed with no success for longer than the threshold; each source has its own streak', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 0, 0));
    const liveness = new Liveness({ clock, sourceFailureThresholdSeconds: 1800 });
    liveness.recordSourceFailure('a');
    clock.advance(10 * MINUTE);
    liveness.recordSourceFailure('b');
    liveness.recordSourceFailure('a'); // a later failure does not restart a's streak
    liveness.recordSourceSuccess('b');
    clock.advance(20 * MINUTE - 1);
    expect(liveness.isAlive()).toBe(true);
    clock.advance(1);
    expect(liveness.isAlive()).toBe(false);
    expect(liveness.body()).toMatchObject({
      source_failing_since: '2026-01-02T03:00:00',
      failing_sources: ['a'],
    });
    liveness.recordSourceSuccess('a');
    expect(liveness.isAlive()).toBe(true);
    expect(liveness.body()).toMatchObject({ source_failing_since: null, failing_sources: [] });
  });

  it('reports the oldest streak among failing sources, and forgets them all on clear', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 0, 0));
    const liveness = new Liveness({ clock, sourceFailureThresholdSeconds: 60 });
    liveness.recordSourceFailure('b');
    clock.advance(5_000);
    liveness.recordSourceFailure('a');
    expect(liveness.body()).toMatchObject({
      source_failing_since: '2026-01-02T03:00:00',
      failing_sources: ['a', 'b'],
    });
    clock.advance(MINUTE);
    expect(liveness.isAlive()).toBe(false);
    liveness.clearSourceFailures();
    expect(liveness.isAlive()).toBe(true);
  });

  it('ignores source failures by default (a plain trigger opts in with a threshold)', () => {
    const clock = new ManualClock();
    const liveness = new Liveness({ clock });
    liveness.recordSourceFailure();
    clock.advance(7 * 24 * 60 * MINUTE);
    expect(liveness.isAlive()).toBe(true);
    expect(liveness.body().failing_sources).toEqual(['source']);
  });

  it('applies the Python threshold on events when set', () => {
    const clock = new ManualClock();
    const liveness = new Liveness({ clock, secondsWithoutEventsThreshold: 3600 });
    clock.advance(59 * MINUTE);
    expect(liveness.isAlive()).toBe(true);
    clock.advance(2 * MINUTE);
    expect(liveness.isAlive()).toBe(false); // 61 minutes without events
    liveness.recordEvents();
    expect(liveness.isAlive()).toBe(true);
  });

  it('reports the Python keys, naive UTC times, and an error count that events reset', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
    const liveness = new Liveness({ clock, secondsWithoutEventsThreshold: 21600 });
    liveness.recordError();
    liveness.recordError();
    clock.advance(123);

    expect(liveness.body()).toEqual({
      last_events_time: '2026-01-02T03:04:05',
      last_heartbeat: '2026-01-02T03:04:05',
      seconds_without_events_threshold: 21600,
      last_heartbeat_threshold: 0,
      error_count: 2,
      push_failing_since: null,
      source_failing_since: null,
      failing_sources: [],
    });
    liveness.recordEvents();
    expect(liveness.body().error_count).toBe(0);
    expect(naiveIsoUtc(Date.UTC(2026, 11, 31, 23, 59, 59, 7))).toBe('2026-12-31T23:59:59.007000');
  });
});

describe('HealthServer', () => {
  it('answers 200 while pushes work, 500 once they fail past the threshold, 404 elsewhere', async () => {
    const h = await startIntakeHarness();
    const server = new HealthServer({ liveness: h.liveness, port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${await server.start()}`;
    try {
      const client = h.client({ policy: { initialMs: 1_000, maxMs: 60_000, deadlineMs: 20 * MINUTE } });
      await client.push(['one']);
      const healthy = await http.get<string>(`${base}/health`);
      expect(healthy.status).toBe(200);
      expect(healthy.headers['content-type']).toBe('application/json');
      expect(Object.keys(JSON.parse(healthy.data) as object)).toEqual(
        expect.arrayContaining([
          'last_events_time',
          'last_heartbeat',
          'seconds_without_events_threshold',
          'last_heartbeat_threshold',
          'error_count',
        ]),
      );

      h.standIn.failWhile(() => true, { status: 503 });
      await expect(client.push(['two'])).rejects.toBeInstanceOf(DeliveryError);
      const failing = await http.get<string>(`${base}/health`);
      expect(failing.status).toBe(500);
      expect(failing.data).not.toContain(INTAKE_KEY);
      expect((JSON.parse(failing.data) as { push_failing_since: unknown }).push_failing_since).toEqual(
        expect.any(String),
      );

      const missing = await http.get<string>(`${base}/metrics`);
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.data)).toEqual({ status_code: 404, reason: "Endpoint doesn't exist" });
    } finally {
      await server.stop();
      await h.stop();
    }
  });

  it('answers 500 with the failing sources once a source streak passes its threshold', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 0, 0));
    const liveness = new Liveness({ clock, sourceFailureThresholdSeconds: 1800 });
    const server = new HealthServer({ liveness, port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${await server.start()}`;
    try {
      liveness.recordSourceFailure('policy_events');
      clock.advance(30 * MINUTE);
      const stalled = await http.get<string>(`${base}/health`);
      expect(stalled.status).toBe(500);
      expect(JSON.parse(stalled.data)).toMatchObject({
        source_failing_since: '2026-01-02T03:00:00',
        failing_sources: ['policy_events'],
      });
      liveness.recordSourceSuccess('policy_events');
      expect((await http.get<string>(`${base}/health`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('reports dead during a long outage, before the push itself gives up', async () => {
    const h = await startIntakeHarness();
    const t0 = h.clock.now();
    h.standIn.failWhile(() => h.clock.now() < t0 + 20 * MINUTE, { status: 503 });
    const aliveDuringOutage: boolean[] = [];
    // What the probe would see at each backoff wait.
    const sleep: Sleep = (ms, signal) => {
      aliveDuringOutage.push(h.liveness.isAlive());
      return h.clock.sleep(ms, signal);
    };
    try {
      // The deadline is one hour: the push outlives the outage and delivers in the end.
      const result = await h.client({ sleep }).push(['late']);
      expect(result.eventIds).toHaveLength(1);
    } finally {
      await h.stop();
    }
    expect(h.liveness.isAlive()).toBe(true);
    expect(h.standIn.responses.filter((r) => r.status === 503).length).toBeGreaterThan(5);
    expect(aliveDuringOutage[0]).toBe(true);
    expect(aliveDuringOutage).toContain(false);
  });
});
