import type { AxiosInstance, AxiosResponse } from 'axios';
import { AuthenticationError, ResponseError, TransientError, isAbort } from './errors';
import { describeNetworkError, excerpt, isRetryableNetworkError } from './http';
import {
  failure,
  isRetryableStatus,
  parseRetryAfter,
  retry,
  retryable,
  success,
  type BackoffPolicy,
  type RetryDecision,
} from './retry';
import type { Clock, Sleep } from './time';

export interface FetchModuleSecretsOptions {
  http: AxiosInstance;
  url: string;
  token: string;
  clock: Clock;
  sleep: Sleep;
  signal?: AbortSignal;
  policy?: BackoffPolicy;
}

/** About the Python SDK's 10 attempts with waits up to 10 s. */
const SECRETS_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 10_000, deadlineMs: 120_000 };

/**
 * The module's secrets from the platform's secrets API (`GET url_secrets` → `{"value": {...}}`).
 * Outages and throttling are retried; a refused token or a bad request fails at once with a
 * named error. The token never appears in a message or a cause.
 */
export async function fetchModuleSecrets(o: FetchModuleSecretsOptions): Promise<Record<string, unknown>> {
  return retry(() => fetchOnce(o), {
    clock: o.clock,
    sleep: o.sleep,
    policy: o.policy ?? SECRETS_BACKOFF,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
}

async function fetchOnce(o: FetchModuleSecretsOptions): Promise<RetryDecision<Record<string, unknown>>> {
  let response: AxiosResponse<unknown>;
  try {
    response = await o.http.get<unknown>(o.url, {
      headers: { Authorization: `Bearer ${o.token}`, Accept: 'application/json' },
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  } catch (error) {
    if (isAbort(error, o.signal)) throw error;
    // The axios error carries the request headers (the token): keep only its code.
    const transient = new TransientError(
      `Cannot reach the secrets API at ${hostOf(o.url)} (${describeNetworkError(error)}). Check url_secrets and the network.`,
    );
    return isRetryableNetworkError(error) ? retryable(transient) : failure(transient);
  }
  return classify(o, response);
}

function classify(
  o: FetchModuleSecretsOptions,
  response: AxiosResponse<unknown>,
): RetryDecision<Record<string, unknown>> {
  const { status } = response;
  if (status === 401 || status === 403) {
    return failure(
      new AuthenticationError(
        `The module token was refused by the secrets API (HTTP ${status}). The platform provides the token: restart the trigger, and contact support if it persists.`,
        { field: 'token' },
      ),
    );
  }
  if (isRetryableStatus(status)) {
    const error = new TransientError(`The secrets API answered HTTP ${status}; retrying.`);
    return retryable(error, parseRetryAfter(response.headers['retry-after'], o.clock.now()));
  }
  if (status < 200 || status >= 300) {
    return failure(
      new ResponseError(
        `The secrets API answered HTTP ${status}: ${excerpt(response.data)}. Check url_secrets.`,
        { status, field: 'url_secrets' },
      ),
    );
  }
  return parseSecrets(response.data, status);
}

function parseSecrets(body: unknown, status: number): RetryDecision<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = typeof body === 'string' ? JSON.parse(body) : body;
  } catch {
    return failure(
      new ResponseError(
        `The secrets API answered something that is not JSON: ${excerpt(body)}. Check url_secrets.`,
        {
          status,
          field: 'url_secrets',
        },
      ),
    );
  }
  const value = (parsed as { value?: unknown } | null)?.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // Do not excerpt a JSON body here: it may hold secrets in an unexpected shape.
    return failure(
      new ResponseError('The secrets API answered JSON without a "value" object. Check url_secrets.', {
        status,
        field: 'url_secrets',
      }),
    );
  }
  return success(value as Record<string, unknown>);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
