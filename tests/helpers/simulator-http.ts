/**
 * A bare HTTP client for simulator tests: node:http with no agent (one connection per
 * request, nothing left open), raw bytes (to observe gzip and truncation), no retries.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export const DEMO_AUTH = basicAuth('demo', 'demo-api-key');

export function basicAuth(username: string, apiKey: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${username}:${apiKey}`).toString('base64')}` };
}

export function httpGet(
  url: string,
  headers: Record<string, string> = DEMO_AUTH,
  method = 'GET',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export type Stream = 'accepted_traffic' | 'blocked_traffic' | 'policy_events';

/** URL of a log request; `params` go through URLSearchParams (the correct encoding). */
export function logUrl(base: string, stream: Stream, params: Record<string, string> = {}): string {
  const path = stream === 'policy_events' ? '/api/v1/log/policyeventlog' : '/api/v1/log/mailtrackinglog';
  const query = new URLSearchParams(stream === 'policy_events' ? params : { type: stream, ...params });
  return `${base}${path}?${query.toString()}`;
}

export interface Drained {
  records: Record<string, unknown>[];
  pages: number;
  tokens: string[];
  statuses: number[];
}

/** Follows nextToken to the end of a window, as a correct collector does. */
export async function drain(base: string, stream: Stream, params: Record<string, string>): Promise<Drained> {
  const out: Drained = { records: [], pages: 0, tokens: [], statuses: [] };
  let token: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const res = await httpGet(logUrl(base, stream, token === undefined ? params : { ...params, token }));
    out.statuses.push(res.status);
    if (res.status === 204) return out;
    if (res.status !== 200) throw new Error(`unexpected ${res.status}: ${res.text}`);
    const page = JSON.parse(res.text) as { nextToken?: string; logs: Record<string, unknown>[] };
    out.pages++;
    out.records.push(...page.logs);
    if (page.nextToken === undefined) return out;
    out.tokens.push(page.nextToken);
    token = page.nextToken;
  }
  throw new Error('drain: more than 10000 pages (token loop?)');
}

export const iso = (ms: number): string => new Date(ms).toISOString();
