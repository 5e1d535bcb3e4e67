import { Harness, HOUR, NOW, identity } from './harness';

jest.setTimeout(180_000);

/** Every record the simulator stores, as comparable text. */
function storedIdentities(h: Harness): string[] {
  return (['accepted_traffic', 'blocked_traffic', 'policy_events'] as const).flatMap((s) =>
    h.simulator.records(s).map(identity),
  );
}

function trigger(h: Harness): NonNullable<Harness['trigger']> {
  if (h.trigger === undefined) throw new Error('not started');
  return h.trigger;
}

function expectExactlyOnce(h: Harness): void {
  const stored = storedIdentities(h);
  const received = h.received().map(identity);
  expect(received.length).toBe(stored.length);
  expect(new Set(received).size).toBe(received.length);
  expect([...received].sort()).toEqual([...stored].sort());
}

describe('Fetch new logs against the simulator', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it.each([
    ['asc', 500],
    ['desc', 500],
    ['asc', 37],
    ['desc', 37],
    ['random', 37],
  ] as const)(
    'delivers a 20,000-record 6-hour backlog exactly once (order %s, page size %d)',
    async (order, pageSize) => {
      h = new Harness({ simulator: { order }, configuration: { batch_size: pageSize, start_time: 7 } });
      h.simulator.generate({
        start: NOW - 6 * HOUR,
        end: NOW - 2 * 60_000,
        counts: { accepted_traffic: 12_000, blocked_traffic: 4_000, policy_events: 4_000 },
        seed: 7,
      });
      expect(h.totalStored()).toBe(20_000);
      await h.start();
      await h.until(() => h.intake.events.length >= 20_000);
      // Let the streams poll a few more times: nothing more may arrive.
      const cycles = h.simulator.stats.requests;
      await h.until(() => h.simulator.stats.requests > cycles + 30);
      expect(await h.stop()).toBe(0);
      expectExactlyOnce(h);
      expect(h.logger.messages('critical')).toEqual([]);
    },
  );

  it('delivers 1,500 records sharing one second: no stall, none lost, none twice', async () => {
    h = new Harness({ configuration: { batch_size: 500 } });
    const second = new Date(NOW - 10 * 60_000).toISOString().replace('.000Z', 'Z');
    h.simulator.add(
      'accepted_traffic',
      Array.from({ length: 1_500 }, (_, i) => ({
        genTime: second,
        timestamp: second,
        mailID: `00000000-0000-4000-8000-${String(Math.floor(i / 3)).padStart(12, '0')}`,
        recipient: `user${i}@example.com`,
        sender: 'burst@example.org',
        action: 'Delivered',
      })),
    );
    await h.start({ log_types: ['accepted_traffic'] });
    await h.until(() => h.intake.events.length >= 1_500);
    const cycles = h.simulator.stats.requests;
    await h.until(() => h.simulator.stats.requests > cycles + 20);
    await h.stop();
    expectExactlyOnce(h);
  });

  it('exposes per-stream metrics, and no secret in metrics labels we add, health or logs', async () => {
    h = new Harness();
    h.simulator.generate({
      start: NOW - HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 300, blocked_traffic: 100, policy_events: 100 },
      seed: 9,
    });
    await h.start();
    const trigger = h.trigger!;
    // Acknowledged, not just received: the counters move once the intake's answer is read.
    const forwarded = (): number =>
      [...trigger.streamMetrics.totals.values()].reduce((n, t) => n + t.forwarded, 0);
    await h.until(() => forwarded() >= 500);
    const metrics = await trigger.metrics.registry.metrics();
    await h.stop();
    // Collected counts what the API listed, window edges read twice included (more of them
    // when windows are read side by side); forwarded counts each record once.
    const collected =
      /symphony_module_trend_micro_collected_messages_total\{type="accepted_traffic"\} (\d+)/.exec(metrics);
    expect(Number(collected?.[1])).toBeGreaterThanOrEqual(300);
    expect(metrics).toMatch(
      /symphony_module_trend_micro_forwarded_messages_total\{type="accepted_traffic"\} 300/,
    );
    expect(metrics).toMatch(
      /symphony_module_trend_micro_forwarded_messages_total\{type="policy_events"\} 100/,
    );
    expect(metrics).toMatch(/symphony_module_common_forwarded_events_total\{intake_key="[^"]+"\} 500/);
    // The API key is nowhere; the intake key only as the Python SDK's own `intake_key` label.
    const outputs = [metrics, JSON.stringify(trigger.liveness.body()), JSON.stringify(h.logger.entries)];
    for (const text of outputs) {
      expect(text).not.toContain('demo-api-key');
      expect(text).not.toContain(Buffer.from('demo:demo-api-key').toString('base64'));
    }
    const intakeKeyLines = metrics.split('\n').filter((line) => line.includes('INTAKE-KEY-123456'));
    expect(intakeKeyLines.length).toBeGreaterThan(0);
    for (const line of intakeKeyLines) {
      expect(line).toMatch(/^symphony_module_common_\w+\{(le="[^"]+",)?intake_key="INTAKE-KEY-123456"\}/);
    }
    expect(JSON.stringify(h.logger.entries)).not.toContain('INTAKE-KEY-123456');
  });

  it.each([
    [1, 30, 'every record arrives'],
    [0, 30, 'every record arrives, found by the late re-reads'],
    [0, 0, 'late-indexed records are missed (why timedelta and late_window exist)'],
  ])(
    'live traffic indexed 45 s late, timedelta %d min, late_window %d min: %s',
    async (timedelta, lateWindow) => {
      h = new Harness({ simulator: { visibilityDelayMs: 45_000 } });
      h.simulator.generate({
        start: NOW - 20 * 60_000,
        end: NOW + 10 * 60_000,
        counts: { accepted_traffic: 600, blocked_traffic: 200, policy_events: 200 },
        seed: 21,
      });
      await h.start({ timedelta, late_window: lateWindow, start_time: 1 });
      // Live: the clock moves on as the caught-up streams wait between polls.
      await h.until(() => h.clock.now() > NOW + 15 * 60_000, 90_000);
      await h.stop();
      const received = new Set(h.received().map(identity));
      const missing = storedIdentities(h).filter((r) => !received.has(r));
      expect(received.size).toBe(h.intake.events.length);
      if (timedelta === 1 || lateWindow > 0) expect(missing).toEqual([]);
      else expect(missing.length).toBeGreaterThan(0);
      const late = [...trigger(h).streamMetrics.totals.values()].reduce((n, t) => n + t.late, 0);
      if (timedelta === 0 && lateWindow > 0) {
        expect(late).toBeGreaterThan(0);
        expect(h.logger.messages('warning').join('\n')).toMatch(/listed \d+ log\(s\) late/);
      }
    },
  );

  it("plans windows on the server's clock when this host's clock runs ahead", async () => {
    // The host is 10 minutes ahead of Trend Micro: windows ending at host-now - 1 min would
    // pass records the server has not generated yet; they must still all arrive.
    h = new Harness({ simulatorBehindMs: 10 * 60_000, configuration: { frequency: 30 } });
    const serverNow = NOW - 10 * 60_000;
    h.simulator.generate({
      start: serverNow - HOUR,
      end: serverNow + 30 * 60_000,
      counts: { accepted_traffic: 900, blocked_traffic: 300, policy_events: 300 },
      seed: 5,
    });
    await h.start({ start_time: 2 });
    await h.until(() => h.intake.events.length >= 1_500, 30_000);
    await h.stop();
    expectExactlyOnce(h);
  });

  it('loses nothing when restarted while caught up on a host whose clock runs ahead', async () => {
    // After a restart the first window is planned before the server has said what time it is:
    // with the host 10 minutes ahead it ends in the server's future. The cursor must stop at
    // the server's present, or logs generated in those minutes fall behind it.
    // A first window as long as 15 minutes (windows start short, but must be safe anyway).
    h = new Harness({ simulatorBehindMs: 10 * 60_000, limits: { initialSpanMs: 15 * 60_000 } });
    const serverNow = NOW - 10 * 60_000;
    h.simulator.generate({
      start: serverNow - HOUR,
      end: serverNow + 40 * 60_000,
      counts: { accepted_traffic: 1_200, blocked_traffic: 600, policy_events: 600 },
      seed: 8,
    });
    await h.start({ start_time: 2 });
    await h.until(() => h.clock.now() > NOW + 5 * 60_000);
    await h.stop();
    h.launch();
    await h.until(() => h.clock.now() > NOW + 45 * 60_000, 90_000);
    await h.stop();
    expectExactlyOnce(h);
  });

  it('resumes after a restart without losing or repeating records', async () => {
    h = new Harness({ limits: { batchEvents: 100 } });
    h.simulator.generate({
      start: NOW - 2 * HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 3_000, blocked_traffic: 1_000, policy_events: 1_000 },
      seed: 3,
    });
    await h.start({ start_time: 3 });
    await h.until(() => h.intake.events.length >= 1_200);
    await h.stop();
    const before = h.intake.events.length;
    expect(before).toBeLessThan(5_000);
    h.launch();
    await h.until(() => h.intake.events.length >= 5_000);
    const cycles = h.simulator.stats.requests;
    await h.until(() => h.simulator.stats.requests > cycles + 30);
    await h.stop();
    expectExactlyOnce(h);
  });
});
