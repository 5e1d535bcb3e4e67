import { Harness, HOUR, NOW, identity } from './harness';

jest.setTimeout(30_000);

function generate(
  h: Harness,
  counts = { accepted_traffic: 300, blocked_traffic: 100, policy_events: 100 },
): number {
  h.simulator.generate({ start: NOW - HOUR, end: NOW - 2 * 60_000, counts, seed: 11 });
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function settle(h: Harness, extraRequests = 20): Promise<void> {
  const seen = h.simulator.stats.requests;
  await h.until(() => h.simulator.stats.requests > seen + extraRequests);
}

describe('API failures: documented behaviour and messages', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it('401: one critical naming username and api_key, then no more API traffic', async () => {
    h = new Harness({ simulator: { apiKey: 'the-real-key' } });
    generate(h);
    await h.start({ api_key: 'a-revoked-key' });
    await h.until(() => h.logger.messages('critical').length > 0);
    const requests = h.simulator.stats.requests;
    h.clock.advance(HOUR);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.simulator.stats.requests).toBe(requests);
    // The server-clock probe, then one page request per stream.
    expect(requests).toBeLessThanOrEqual(4);
    const [critical] = h.logger.messages('critical');
    expect(critical).toMatch(/HTTP 401/);
    expect(critical).toMatch(/"username" must be the console Login ID/);
    expect(critical).toMatch(/"api_key"/);
    expect(JSON.stringify(h.logger.entries)).not.toContain('a-revoked-key');
    expect(h.intake.events).toHaveLength(0);
    expect(await h.stop()).toBe(0);
  });

  it('404: one critical telling to enable Log Retrieval', async () => {
    h = new Harness({ simulator: { logRetrieval: false } });
    generate(h);
    await h.start();
    await h.until(() => h.logger.messages('critical').length > 0);
    expect(h.logger.messages('critical')[0]).toMatch(
      /Enable Log Retrieval under Administration > Service Integration > Log Retrieval/,
    );
    expect(await h.stop()).toBe(0);
  });

  it('a stream that gets 404 stops with an error; the other streams keep going', async () => {
    h = new Harness();
    const total = generate(h);
    h.simulator.failNext(
      1_000,
      { status: 404, body: '{"code":"ResourceNotAvailable","message":"no"}' },
      'policy_events',
    );
    await h.start();
    await h.until(() => h.intake.events.length >= total - 100);
    await settle(h);
    expect(
      h.logger
        .messages('error')
        .some((m) => m.includes('policy_events stopped') && m.includes('Log Retrieval')),
    ).toBe(true);
    expect(h.logger.messages('critical')).toEqual([]);
    expect(h.intake.events).toHaveLength(total - 100);
    await h.stop();
  });

  it('an HTML 502 page and a truncated JSON body are retried with a clear warning; nothing is lost', async () => {
    h = new Harness();
    const total = generate(h);
    const html = '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>';
    h.simulator.failNext(
      3,
      { status: 502, body: html, headers: { 'content-type': 'text/html' } },
      'accepted_traffic',
    );
    h.simulator.failNext(
      2,
      { status: 200, body: '{"logs": [{"genTime": "2026-', headers: {} },
      'blocked_traffic',
    );
    await h.start();
    await h.until(() => h.intake.events.length >= total);
    await settle(h);
    await h.stop();
    const warnings = h.logger.messages('warning').join('\n');
    expect(warnings).toMatch(
      /accepted_traffic: the Trend Micro API answered HTTP 502: ".*502 Bad Gateway.*"/,
    );
    expect(warnings).toMatch(/blocked_traffic: the API answered 200 with a body that is not JSON/);
    const received = h.received().map(identity);
    expect(new Set(received).size).toBe(total);
  });

  it('records with wrong types are forwarded as they are (raw) and normalised without crashing (ecs)', async () => {
    for (const output_format of ['raw', 'ecs'] as const) {
      h = new Harness();
      const odd = [
        {
          genTime: new Date(NOW - 30 * 60_000).toISOString(),
          size: 'big',
          headerTo: 'x@y',
          attachments: {},
          recipient: null,
        },
        {
          genTime: new Date(NOW - 29 * 60_000).toISOString(),
          subject: 42,
          embeddedUrls: [null, 3],
          mailID: ['a'],
        },
        { genTime: new Date(NOW - 28 * 60_000).toISOString() },
      ];
      h.simulator.add('accepted_traffic', odd);
      await h.start({ log_types: ['accepted_traffic'], output_format });
      await h.until(() => h.intake.events.length >= 3);
      await settle(h, 5);
      await h.stop();
      expect(h.intake.events).toHaveLength(3);
      if (output_format === 'raw') {
        expect(h.received().map(identity).sort()).toEqual(odd.map(identity).sort());
      } else {
        for (const doc of h.received()) expect(doc).toHaveProperty('event.kind');
      }
      await h.close();
    }
  });
});
