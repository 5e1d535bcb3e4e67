import { createHttpClient } from '@sekoia/automation-sdk-shim';
import { TmesSimulator } from '../../simulator';
import { closedPort } from '../helpers/ports';
import { Harness } from './harness';

jest.setTimeout(60_000);

const MINUTE = 60_000;
const http = createHttpClient({ timeoutMs: 5_000 });

interface HealthAnswer {
  status: number;
  body: { source_failing_since: string | null; failing_sources: string[] };
}

async function health(base: string): Promise<HealthAnswer> {
  const response = await http.get<string>(`${base}/health`);
  return { status: response.status, body: JSON.parse(response.data) as HealthAnswer['body'] };
}

/** Waits until the trigger has lived `ms` more simulated time (its sleeps move the clock). */
async function simulated(h: Harness, ms: number): Promise<void> {
  const until = h.clock.now() + ms;
  await h.until(() => h.clock.now() >= until);
}

describe('the Trend Micro API unreachable for a long time', () => {
  let h: Harness;
  let api: TmesSimulator | undefined;
  afterEach(async () => {
    await h.close();
    await api?.stop();
    api = undefined;
  });

  it('connection refused for 30 minutes: one critical naming the cause, /health fails, then recovery is logged', async () => {
    const port = await closedPort();
    h = new Harness({ healthPort: 0 });
    const started = h.clock.now();
    await h.start({ service_url: `http://127.0.0.1:${port}` });
    const trigger = h.trigger;
    if (trigger === undefined) throw new Error('no trigger');
    // The trigger's own /health, as the platform's probe reads it.
    await h.until(() => trigger.ports.health !== undefined);
    const base = `http://127.0.0.1:${String(trigger.ports.health)}`;

    await h.until(() => h.logger.messages('critical').length > 0);
    expect(h.clock.now() - started).toBeGreaterThanOrEqual(30 * MINUTE);
    // Three streams failing, another half hour: still one critical (the others are errors).
    await simulated(h, 30 * MINUTE);
    const criticals = h.logger.messages('critical');
    expect(criticals).toHaveLength(1);
    expect(criticals[0]).toMatch(
      new RegExp(
        `no page could be read from the Trend Micro API at 127\\.0\\.0\\.1:${port} for \\d+ minutes`,
      ),
    );
    expect(criticals[0]).toMatch(
      /the connection is refused \(ECONNREFUSED\)\. Check the host and port of "service_url"/,
    );
    expect(criticals[0]).toMatch(/Collection keeps retrying/);
    const stalled = await health(base);
    expect(stalled.status).toBe(500);
    expect(stalled.body.source_failing_since).toEqual(expect.any(String));
    expect(stalled.body.failing_sources).toEqual(['accepted_traffic', 'blocked_traffic', 'policy_events']);

    // The API comes back on that port: each stream logs its recovery, /health is green again.
    api = new TmesSimulator({ clock: h.clock });
    await api.start(port);
    await h.until(() => h.logger.messages('info').filter((m) => m.includes('answers again')).length === 3);
    expect(h.logger.messages('info').join('\n')).toMatch(
      /accepted_traffic: the Trend Micro API answers again after \d+ minutes without a page; collection resumed\./,
    );
    const recovered = await health(base);
    expect(recovered.status).toBe(200);
    expect(recovered.body.source_failing_since).toBeNull();
    expect(h.logger.messages('critical')).toHaveLength(1);
  });

  it('a host name that does not resolve: the critical says to check the region host', async () => {
    h = new Harness();
    // .invalid never resolves (RFC 6761); the harness's resolver says so without a DNS query.
    await h.start({ service_url: 'https://api.tmes.invalid', log_types: ['accepted_traffic'] });
    await h.until(() => h.logger.messages('critical').length > 0);
    await simulated(h, 5 * MINUTE);
    const criticals = h.logger.messages('critical');
    expect(criticals).toHaveLength(1);
    expect(criticals[0]).toMatch(
      /at api\.tmes\.invalid for \d+ minutes: its host name does not resolve \((ENOTFOUND|EAI_AGAIN)\)/,
    );
    expect(criticals[0]).toMatch(/Check that "service_url" is your region's API host/);
    expect(JSON.stringify(h.logger.entries)).not.toContain('demo-api-key');
  });
});
