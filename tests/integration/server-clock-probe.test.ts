import { createServer, type Server } from 'node:http';
import { closeHttp, listenHttp } from '@sekoia/automation-sdk-shim/testing';
import { Harness } from './harness';

const HOUR = 3_600_000;

/**
 * An API with no logs whose clock runs `behindMs` behind the test's; records each request it
 * answers. While `down` is set it drops every connection unanswered (the API unreachable).
 */
async function emptyApi(
  h: Harness,
  behindMs: number,
): Promise<{ url: string; server: Server; queries: URLSearchParams[]; down: { value: boolean } }> {
  const queries: URLSearchParams[] = [];
  const down = { value: false };
  const server = createServer((req, res) => {
    if (down.value) {
      req.socket.destroy();
      return;
    }
    req.resume();
    queries.push(new URL(req.url ?? '/', 'http://api').searchParams);
    res.writeHead(204, { date: new Date(h.clock.now() - behindMs).toUTCString() }).end();
  });
  const port = await listenHttp(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, server, queries, down };
}

describe('the server-clock probe', () => {
  let h: Harness;
  let server: Server | undefined;
  afterEach(async () => {
    await h.close();
    if (server !== undefined) await closeHttp(server);
    server = undefined;
  });

  it('is the first request (one second, limit 1) and tells when the host clock runs ahead', async () => {
    h = new Harness();
    const api = await emptyApi(h, 2 * HOUR);
    server = api.server;
    await h.start({ service_url: api.url, log_types: ['blocked_traffic', 'accepted_traffic'] });
    await h.until(() => api.queries.length >= 4);
    const [probe] = api.queries;
    expect(probe?.get('type')).toBe('blocked_traffic');
    expect(probe?.get('limit')).toBe('1');
    expect(Date.parse(probe?.get('end') ?? '') - Date.parse(probe?.get('start') ?? '')).toBe(1_000);
    expect(h.logger.messages('warning')).toContain(
      "This host's clock is 120 min ahead of the Trend Micro server's: windows are planned on the server's clock. Synchronise this host's clock (NTP).",
    );
  });

  it('says nothing about the clock when host and server agree', async () => {
    h = new Harness();
    const api = await emptyApi(h, 0);
    server = api.server;
    await h.start({ service_url: api.url });
    await h.until(() => api.queries.length >= 4);
    expect(h.logger.messages('warning').filter((m) => m.includes('clock'))).toEqual([]);
  });

  it('a failed probe is not fatal: a warning, and collection starts on the host clock', async () => {
    h = new Harness();
    const api = await emptyApi(h, 0);
    server = api.server;
    // The API drops every connection at first (the probe gets no answer), then comes back.
    // (Closing the port and listening on it again raced with the client's own ephemeral ports.)
    api.down.value = true;
    await h.start({ service_url: api.url, log_types: ['accepted_traffic'] });
    await h.until(() => h.logger.messages('warning').some((m) => m.includes("planned on this host's clock")));
    api.down.value = false;
    await h.until(() => api.queries.length >= 2);
    expect(h.logger.messages('warning').find((m) => m.includes("planned on this host's clock"))).toMatch(
      /accepted_traffic: the Trend Micro API could not be reached \(ECONNRESET\)\. Windows are planned on this host's clock until it answers\./,
    );
    expect(h.logger.messages('critical')).toEqual([]);
  });
});
