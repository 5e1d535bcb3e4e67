import type { Harness } from '../integration/harness';
import { API_KEY, HOUR, INTAKE_KEY, NOW, badInputHarness, expectNoSecrets } from './bad-input-harness';

jest.setTimeout(20_000);

interface ConfigurationCase {
  name: string;
  /** Merged over a valid configuration; `undefined` removes the setting. */
  set?: Record<string, unknown>;
  /** The configuration file as text, verbatim. */
  raw?: string;
  /** Platform settings (volume files). */
  settings?: Record<string, string>;
  /** The field the critical must name, and what it must say to do. */
  field: string;
  fix: RegExp;
  /** Refused before any API request (validation), or only once the API or intake answered. */
  refusedBefore: 'api' | 'intake';
}

const CASES: ConfigurationCase[] = [
  {
    name: 'service_url missing',
    set: { service_url: undefined },
    field: 'service_url',
    fix: /is required \(API host of your tenant's region/,
    refusedBefore: 'api',
  },
  {
    name: 'username missing',
    set: { username: undefined },
    field: 'username',
    fix: /is required \(Login ID of the Trend Micro Email Security console account/,
    refusedBefore: 'api',
  },
  {
    name: 'api_key missing',
    set: { api_key: undefined },
    field: 'api_key',
    fix: /is required \(Key from Administration > Service Integration > API Access/,
    refusedBefore: 'api',
  },
  {
    name: 'intake_key missing',
    set: { intake_key: undefined },
    field: 'intake_key',
    fix: /is required \(Key of the Sekoia\.io intake/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url empty',
    set: { service_url: '' },
    field: 'service_url',
    fix: /"service_url" is empty \(API host of your tenant's region/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url blank',
    set: { service_url: '   ' },
    field: 'service_url',
    fix: /is empty\. Use the API host/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url http:// on a non-loopback host',
    set: { service_url: 'http://api.tmes.trendmicro.eu' },
    field: 'service_url',
    fix: /must use https:\/\/ \(got http:\/\/api\.tmes\.trendmicro\.eu\)/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url with a query string',
    set: { service_url: 'https://api.tmes.trendmicro.eu/?region=eu' },
    field: 'service_url',
    fix: /must not contain a query string/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url with a fragment',
    set: { service_url: 'https://api.tmes.trendmicro.eu/#logs' },
    field: 'service_url',
    fix: /must not contain a query string or a fragment/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url with credentials',
    set: { service_url: 'https://admin:pw@api.tmes.trendmicro.eu' },
    field: 'service_url',
    fix: /must not contain credentials: put the Login ID in "username"/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url ftp://',
    set: { service_url: 'ftp://api.tmes.trendmicro.eu' },
    field: 'service_url',
    fix: /must be an https:\/\/ URL/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url not a URL',
    set: { service_url: 'https://exa mple .com' },
    field: 'service_url',
    fix: /is not a host name or URL/,
    refusedBefore: 'api',
  },
  {
    name: 'service_url an object',
    set: { service_url: { host: 'x' } },
    field: 'service_url',
    fix: /must be string/,
    refusedBefore: 'api',
  },
  {
    name: 'username an object',
    set: { username: { id: 1 } },
    field: 'username',
    fix: /must be string \(Login ID of the Trend Micro Email Security console account/,
    refusedBefore: 'api',
  },
  {
    name: 'api_key an array',
    set: { api_key: ['k'] },
    field: 'api_key',
    fix: /must be string \(Key from Administration/,
    refusedBefore: 'api',
  },
  {
    name: 'log_types a string',
    set: { log_types: 'accepted_traffic' },
    field: 'log_types',
    fix: /must be array \(Logs to collect/,
    refusedBefore: 'api',
  },
  {
    name: 'log_types empty',
    set: { log_types: [] },
    field: 'log_types',
    fix: /must NOT have fewer than 1 items/,
    refusedBefore: 'api',
  },
  {
    name: 'log_types unknown',
    set: { log_types: ['spam_traffic'] },
    field: 'log_types.0',
    fix: /must be one of "accepted_traffic", "blocked_traffic", "policy_events"/,
    refusedBefore: 'api',
  },
  {
    name: 'log_types repeated',
    set: { log_types: ['policy_events', 'policy_events'] },
    field: 'log_types',
    fix: /must NOT have duplicate items/,
    refusedBefore: 'api',
  },
  {
    name: 'frequency negative',
    set: { frequency: -5 },
    field: 'frequency',
    fix: /must be >= 1 \(Seconds to wait/,
    refusedBefore: 'api',
  },
  {
    name: 'frequency zero',
    set: { frequency: 0 },
    field: 'frequency',
    fix: /must be >= 1/,
    refusedBefore: 'api',
  },
  {
    name: 'frequency not a number',
    set: { frequency: 'often' },
    field: 'frequency',
    fix: /must be integer/,
    refusedBefore: 'api',
  },
  {
    name: 'frequency a fraction',
    set: { frequency: 1.5 },
    field: 'frequency',
    fix: /must be integer/,
    refusedBefore: 'api',
  },
  {
    name: 'frequency over an hour',
    set: { frequency: 3601 },
    field: 'frequency',
    fix: /must be <= 3600/,
    refusedBefore: 'api',
  },
  {
    name: 'batch_size 501',
    set: { batch_size: 501 },
    field: 'batch_size',
    fix: /must be <= 500 \(Logs requested per API page \(500 at most/,
    refusedBefore: 'api',
  },
  {
    name: 'batch_size 0',
    set: { batch_size: 0 },
    field: 'batch_size',
    fix: /must be >= 1/,
    refusedBefore: 'api',
  },
  {
    name: 'start_time 73',
    set: { start_time: 73 },
    field: 'start_time',
    fix: /must be <= 72 \(On the first run, hours of past logs .*72 at most/,
    refusedBefore: 'api',
  },
  {
    name: 'start_time negative',
    set: { start_time: -1 },
    field: 'start_time',
    fix: /must be >= 0/,
    refusedBefore: 'api',
  },
  {
    name: 'timedelta 61',
    set: { timedelta: 61 },
    field: 'timedelta',
    fix: /must be <= 60 \(Minutes the collection stays behind/,
    refusedBefore: 'api',
  },
  {
    name: 'output_format "xml"',
    set: { output_format: 'xml' },
    field: 'output_format',
    fix: /must be one of "raw", "ecs"/,
    refusedBefore: 'api',
  },
  {
    name: 'intake_server not http(s)',
    set: { intake_server: 'ftp://intake.sekoia.io' },
    field: 'intake_server',
    fix: /is not an http\(s\) URL; set "intake_server" to e\.g\. https:\/\/intake\.sekoia\.io/,
    refusedBefore: 'intake',
  },
  {
    name: 'intake_key empty',
    set: { intake_key: '' },
    field: 'intake_key',
    fix: /"intake_key" is empty \(Key of the Sekoia\.io intake/,
    refusedBefore: 'api',
  },
  {
    name: 'api_key empty',
    set: { api_key: '' },
    field: 'api_key',
    fix: /"api_key" is empty \(Key from Administration > Service Integration > API Access/,
    refusedBefore: 'api',
  },
  {
    name: 'username empty',
    set: { username: '' },
    field: 'username',
    fix: /"username" is empty \(Login ID of the Trend Micro Email Security console account/,
    refusedBefore: 'api',
  },
  {
    name: 'the configuration is a JSON array',
    raw: '["service_url"]',
    field: 'trigger configuration',
    fix: /must be a JSON object, got an array/,
    refusedBefore: 'api',
  },
  {
    name: 'the configuration is not JSON',
    raw: '{service_url: oops',
    field: 'trigger_configuration',
    fix: /trigger_configuration/,
    refusedBefore: 'api',
  },
  {
    name: 'file_backend S3 without a bucket',
    settings: { file_backend: 'S3' },
    field: 'aws_bucket_name',
    fix: /set aws_bucket_name, or unset file_backend/,
    refusedBefore: 'api',
  },
  {
    name: 'an S3 key id without its secret',
    settings: { file_backend: 'S3', aws_bucket_name: 'b', aws_access_key_id: 'AKIA' },
    field: 'aws_secret_access_key',
    fix: /set both aws_access_key_id and aws_secret_access_key/,
    refusedBefore: 'api',
  },
];

describe('malformed configuration: one critical naming the field and the fix, no secret shown', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    h = badInputHarness({
      ...(c.raw === undefined ? {} : { rawConfiguration: c.raw.replace('oops', `"${API_KEY}"`) }),
      ...(c.settings === undefined ? {} : { settings: c.settings }),
    });
    // Records to collect, so a setting only checked at the first push is reached too.
    h.simulator.generate({
      start: NOW - HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 30, blocked_traffic: 10, policy_events: 10 },
      seed: 4,
    });
    await h.start(c.set ?? {});
    await h.until(() => h.logger.messages('critical').length > 0);
    const criticals = h.logger.messages('critical');
    expect(criticals).toHaveLength(1);
    const [critical = ''] = criticals;
    expect(critical).toContain(c.field);
    expect(critical).toMatch(c.fix);
    // Refused: nothing reached the intake; validation errors come before any API request.
    expect(h.intake.events).toEqual([]);
    if (c.refusedBefore === 'api') expect(h.simulator.stats.requests).toBe(0);
    expect(await h.stop()).toBe(0);
    expectNoSecrets(h, critical);
    expect(critical).not.toContain(INTAKE_KEY);
  });

  it('a service URL that is not a known region is used, with a warning naming it', async () => {
    h = badInputHarness();
    await h.start({ service_url: 'https://tmes.example.invalid', log_types: ['policy_events'] });
    await h.until(() => h.logger.messages('warning').some((m) => m.includes('service URL')));
    expect(h.logger.messages('warning').join('\n')).toMatch(
      /The service URL host "tmes\.example\.invalid" is not a known Trend Micro Email Security region; using it as given\. Use the API host of your region/,
    );
    expect(await h.stop()).toBe(0);
    expectNoSecrets(h);
  });

  it('a username the API refuses is reported once, naming username and api_key', async () => {
    h = badInputHarness();
    await h.start({ username: 'not-the-login-id' });
    await h.until(() => h.logger.messages('critical').length > 0);
    expect(h.logger.messages('critical')).toHaveLength(1);
    expect(h.logger.messages('critical')[0]).toMatch(
      /HTTP 401.*"username" must be the console Login ID and "api_key"/,
    );
    const requests = h.simulator.stats.requests;
    h.clock.advance(HOUR);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.simulator.stats.requests).toBe(requests);
    expect(await h.stop()).toBe(0);
    expectNoSecrets(h);
  });

  it('settings given as strings are coerced (a form may send "60")', async () => {
    h = badInputHarness();
    h.simulator.generate({
      start: NOW - HOUR,
      end: NOW - 2 * 60_000,
      counts: { accepted_traffic: 20, blocked_traffic: 0, policy_events: 0 },
      seed: 4,
    });
    await h.start({ frequency: '5', batch_size: '7', start_time: '2', log_types: ['accepted_traffic'] });
    await h.until(() => h.intake.events.length >= 20);
    expect(h.logger.messages('critical')).toEqual([]);
    expect(await h.stop()).toBe(0);
    expectNoSecrets(h);
  });
});
