import { ConfigurationError } from '@sekoia/automation-sdk-shim';
import { KNOWN_REGIONS, parseServiceUrl } from '../../trigger_fetch_new_logs/service-url';

describe('parseServiceUrl', () => {
  it.each(KNOWN_REGIONS.map((r) => r.host))(
    'accepts the region host %s bare, as a URL and with slashes',
    (host) => {
      expect(parseServiceUrl(host)).toEqual({ baseUrl: `https://${host}` });
      expect(parseServiceUrl(`https://${host}/`)).toEqual({ baseUrl: `https://${host}` });
      expect(parseServiceUrl(`  ${host}///  `)).toEqual({ baseUrl: `https://${host}` });
    },
  );

  it('includes the UAE and UK regions', () => {
    expect(KNOWN_REGIONS.map((r) => r.host)).toEqual(
      expect.arrayContaining(['api.tmes-uae.trendmicro.com', 'api.tmes-uk.trendmicro.com']),
    );
  });

  it('strips a pasted API path', () => {
    expect(parseServiceUrl('https://api.tmes.trendmicro.eu/api/v1/log/mailtrackinglog').baseUrl).toBe(
      'https://api.tmes.trendmicro.eu',
    );
  });

  it('accepts an unknown host with a warning', () => {
    const result = parseServiceUrl('tmes-proxy.example.com');
    expect(result.baseUrl).toBe('https://tmes-proxy.example.com');
    expect(result.warning).toMatch(/not a known Trend Micro Email Security region/);
    // The form's description gives one example; the warning names every region's host.
    for (const { host } of KNOWN_REGIONS) expect(result.warning).toContain(host);
  });

  it('allows plain http only on loopback', () => {
    expect(parseServiceUrl('http://127.0.0.1:8080').baseUrl).toBe('http://127.0.0.1:8080');
    expect(parseServiceUrl('http://localhost:1234/').baseUrl).toBe('http://localhost:1234');
    expect(parseServiceUrl('http://[::1]:99').baseUrl).toBe('http://[::1]:99');
    expect(() => parseServiceUrl('http://api.tmes.trendmicro.com')).toThrow(/must use https/);
  });

  it.each([
    ['', /is empty/],
    ['https://user:pw@api.tmes.trendmicro.com', /must not contain credentials/],
    ['https://api.tmes.trendmicro.com/?x=1', /query string/],
    ['ftp://api.tmes.trendmicro.com', /https/],
    ['https://exa mple.com', /not a host name or URL/],
  ])('rejects %j naming the field and the fix', (value, message) => {
    let error: unknown;
    try {
      parseServiceUrl(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('service_url');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/api\.tmes\.trendmicro\.com/);
  });
});
