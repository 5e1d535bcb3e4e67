import { Agent as HttpAgent, type Server } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance } from 'axios';

/**
 * The runtime's HTTP client: an axios instance built by createHttpClient (every status returned,
 * bodies as text). Why an axios type in the public API: a module calls its own third-party API
 * with `this.http` and needs the whole of axios's documented request options (params, headers,
 * signal, responseType, …); a narrower interface would be a second, drifting copy of them, and
 * modules could not pass a client of their own built with axios. axios is a dependency of this
 * package, so the type comes with it. This alias is the one place to change if that changes.
 */
export type HttpClient = AxiosInstance;

export interface HttpClientOptions {
  /** Per-request timeout (connect + response). */
  timeoutMs?: number;
  userAgent?: string;
  /** Max sockets per host, to bound concurrency at the transport too. */
  maxSockets?: number;
  /**
   * How host names are resolved; default: the system resolver (`dns.lookup`). Tests that need
   * a name that does not resolve pass one that answers without leaving the machine: a real
   * lookup cannot be cancelled, and one left pending by a slow resolver keeps the process alive.
   */
  lookup?: LookupFunction;
}

/**
 * The one way this runtime builds an HTTP client. Every status is returned to the caller
 * (classification is the caller's job, as a RetryDecision), bodies arrive as text so an HTML
 * error page can be reported instead of crashing a JSON parser, and sockets are kept alive.
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 16,
    ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
  };
  return axios.create({
    timeout: options.timeoutMs ?? 30_000,
    validateStatus: () => true,
    responseType: 'text',
    // Keep the text as is: JSON parsing is explicit at each call site.
    transformResponse: [(data: unknown) => data],
    decompress: true,
    maxContentLength: 256 * 1024 * 1024,
    maxBodyLength: 64 * 1024 * 1024,
    maxRedirects: 0,
    headers: options.userAgent === undefined ? {} : { 'User-Agent': options.userAgent },
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    proxy: false,
  });
}

/** Network-level failure codes worth retrying (no HTTP status was received). */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ERR_BAD_RESPONSE',
  'ERR_NETWORK',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** True for transport failures (reset, refused, timeout, DNS) that a retry may fix. */
export function isRetryableNetworkError(error: unknown): boolean {
  if (axios.isCancel(error)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code);
}

/**
 * A one-line description of a transport error that never includes request headers or
 * bodies (axios errors carry the whole request config, credentials included).
 */
export function describeNetworkError(error: unknown): string {
  if (axios.isAxiosError(error)) {
    const code = error.code ?? 'network error';
    return error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' ? `timeout (${code})` : code;
  }
  return error instanceof Error ? error.message : String(error);
}

/** What a transport failure means for the user: which part of the path to check. */
export type NetworkFailureKind = 'dns' | 'tls' | 'refused' | 'timeout' | 'unreachable' | 'reset' | 'other';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);
/** OpenSSL and Node TLS codes: certificate problems and failed handshakes. */
const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|EPROTO$)/;

export function networkFailureKind(code: string | undefined): NetworkFailureKind {
  if (code === undefined) return 'other';
  if (DNS_CODES.has(code)) return 'dns';
  if (TLS_CODE.test(code)) return 'tls';
  if (code === 'ECONNREFUSED') return 'refused';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (RESET_CODES.has(code)) return 'reset';
  return 'other';
}

/**
 * A transport error reduced to what is safe to keep, log and attach as a `cause`: its code,
 * its kind and describeNetworkError's line. Axios errors carry the whole request config (the
 * Authorization header with it) and the socket; this keeps none of that.
 */
export class NetworkFailure extends Error {
  readonly code: string | undefined;
  readonly kind: NetworkFailureKind;

  constructor(error: unknown) {
    super(describeNetworkError(error));
    this.name = 'NetworkFailure';
    const code = (error as { code?: unknown } | null)?.code;
    this.code = typeof code === 'string' ? code : undefined;
    this.kind = networkFailureKind(this.code);
  }
}

/** At most `max` characters of a body, on one line, for error messages. */
export function excerpt(body: unknown, max = 200): string {
  const text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : String(body);
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Binds `server` and resolves with the bound port (pass 0 for an ephemeral one). */
export function listenHttp(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // After listening, errors are per connection (e.g. EMFILE on accept): the server keeps
      // serving, and an 'error' event without a listener would crash the whole process.
      server.on('error', () => undefined);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * Stops `server` and closes every connection, in-flight ones included: close() alone waits for
 * pending requests (a hanging one never ends), so a stopped process (or test) would linger.
 */
export function closeHttp(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.close((error) => {
      if (error === undefined) resolve();
      else reject(error);
    });
    server.closeAllConnections();
  });
}
