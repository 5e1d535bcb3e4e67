import { AuthenticationError, ResponseError, TransientError } from '../src/errors';
import { createHttpClient } from '../src/http';
import { fetchModuleSecrets } from '../src/secrets';
import { ManualClock } from '../src/testing';
import { startScriptedServer, type ScriptedResponse, type ScriptedServer } from './helpers/scripted-server';

const TOKEN = 'module-token-0123456789abcdef';

describe('fetchModuleSecrets', () => {
  const http = createHttpClient({ timeoutMs: 5_000 });
  let server: ScriptedServer | undefined;
  let clock: ManualClock;

  beforeEach(() => {
    clock = new ManualClock();
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function fetchWith(responses: ScriptedResponse[]): Promise<Record<string, unknown>> {
    server = await startScriptedServer(responses);
    return fetchModuleSecrets({
      http,
      url: `${server.url}/api/v1/secrets`,
      token: TOKEN,
      clock,
      sleep: clock.sleep,
    });
  }

  it('returns the value object, sending the token as a Bearer header', async () => {
    const secrets = await fetchWith([{ status: 200, body: '{"value": {"api_key": "plain", "other": 1}}' }]);

    expect(secrets).toEqual({ api_key: 'plain', other: 1 });
    expect(server!.requests).toHaveLength(1);
    expect(server!.requests[0]!.path).toBe('/api/v1/secrets');
    expect(server!.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('retries a 500 then succeeds, waiting on the injected clock', async () => {
    const secrets = await fetchWith([
      { status: 500, body: 'oops' },
      { status: 200, body: '{"value": {"k": "v"}}' },
    ]);

    expect(secrets).toEqual({ k: 'v' });
    expect(server!.requests).toHaveLength(2);
    expect(clock.slept).toBeGreaterThan(0);
  });

  it('honours Retry-After on a 429', async () => {
    await fetchWith([
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 200, body: '{"value": {}}' },
    ]);
    expect(clock.slept).toBe(7_000);
  });

  it.each([401, 403])(
    'fails at once on %i with an AuthenticationError that does not show the token',
    async (status) => {
      const error: unknown = await fetchWith([{ status, body: `{"detail": "bad token"}` }]).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).toContain('module token was refused by the secrets API');
      expect((error as Error).message).not.toContain(TOKEN);
      expect(JSON.stringify(error)).not.toContain(TOKEN);
      expect(server!.requests).toHaveLength(1);
      expect(clock.slept).toBe(0);
    },
  );

  it('fails at once on another 4xx with a ResponseError carrying the status', async () => {
    const error: unknown = await fetchWith([{ status: 404, body: 'no such module' }]).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(ResponseError);
    expect((error as ResponseError).status).toBe(404);
    expect((error as Error).message).toContain('no such module');
    expect(server!.requests).toHaveLength(1);
  });

  it('reports a non-JSON body as a ResponseError with an excerpt', async () => {
    const error: unknown = await fetchWith([
      { status: 200, body: '<html><body>Gateway login</body></html>' },
    ]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ResponseError);
    expect((error as Error).message).toContain('<html><body>Gateway login');
  });

  it('reports JSON without a value object as a ResponseError', async () => {
    await expect(fetchWith([{ status: 200, body: '{"values": {}}' }])).rejects.toThrow(/"value" object/);
  });

  it('retries an unreachable API until the deadline, then throws a TransientError without the token', async () => {
    const closed = await startScriptedServer([{ status: 200 }]);
    await closed.stop();

    const error: unknown = await fetchModuleSecrets({
      http,
      url: `${closed.url}/secrets`,
      token: TOKEN,
      clock,
      sleep: clock.sleep,
      policy: { initialMs: 1_000, maxMs: 4_000, deadlineMs: 20_000 },
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).not.toContain(TOKEN);
    expect(clock.slept).toBeGreaterThan(0);
    expect(clock.slept).toBeLessThanOrEqual(20_000);
  });
});
