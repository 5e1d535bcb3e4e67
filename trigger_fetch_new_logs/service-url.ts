import { ConfigurationError } from '@sekoia/automation-sdk-shim';

/** Regional API hosts, from Trend Micro's "Understanding the URL" pages. */
export const KNOWN_REGIONS: readonly { host: string; region: string }[] = [
  { host: 'api.tmes.trendmicro.com', region: 'North America, Latin America and Asia Pacific' },
  { host: 'api.tmes.trendmicro.eu', region: 'Europe, the Middle East and Africa' },
  { host: 'api.tmes-anz.trendmicro.com', region: 'Australia and New Zealand' },
  { host: 'api.tmems-jp.trendmicro.com', region: 'Japan' },
  { host: 'api.tmes-sg.trendmicro.com', region: 'Singapore' },
  { host: 'api.tmes-in.trendmicro.com', region: 'India' },
  { host: 'api.tmes-uae.trendmicro.com', region: 'United Arab Emirates' },
  { host: 'api.tmes-uk.trendmicro.com', region: 'United Kingdom' },
];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface ServiceUrl {
  /** Scheme, host, port and optional path prefix, without a trailing slash. */
  readonly baseUrl: string;
  /** Set when the host is not a known region: worth a warning, not a refusal. */
  readonly warning?: string;
}

const HINT = `Use the API host of your region, one of: ${KNOWN_REGIONS.map((r) => r.host).join(', ')}.`;

/**
 * Accepts a bare host ("api.tmes.trendmicro.eu"), a URL, or a URL pasted with the API path;
 * trailing slashes are ignored. HTTPS is required except on loopback, so the API key never
 * travels in clear text.
 */
export function parseServiceUrl(value: string): ServiceUrl {
  const text = value.trim().replace(/\/+$/, '');
  if (text === '') throw invalid('is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (error) {
    throw invalid(`is not a host name or URL`, error);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('must not contain credentials: put the Login ID in "username" and the key in "api_key"');
  }
  if (url.search !== '' || url.hash !== '') throw invalid('must not contain a query string or a fragment');
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol === 'http:' && !loopback) {
    throw invalid(`must use https:// (got http://${url.host}); the API key must not travel in clear text`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`must be an https:// URL`);
  // People paste the documented request URL; keep only what precedes the API path.
  const path = url.pathname.replace(/\/api\/v1(\/.*)?$/, '').replace(/\/+$/, '');
  const baseUrl = `${url.protocol}//${url.host}${path}`;
  const known = KNOWN_REGIONS.some((r) => r.host === url.hostname.toLowerCase());
  return known || loopback
    ? { baseUrl }
    : {
        baseUrl,
        warning: `The service URL host "${url.hostname}" is not a known Trend Micro Email Security region; using it as given. ${HINT}`,
      };
}

function invalid(problem: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(`"service_url" ${problem}. ${HINT}`, { field: 'service_url', cause });
}
