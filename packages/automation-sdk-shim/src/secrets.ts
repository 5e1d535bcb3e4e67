import type { AxiosInstance, AxiosResponse } from 'axios';
import { SECRETS_RETRY } from './backoff-policies';
import { exchange, malformed, parseJson, safeExcerpt, type ExchangeRules, type HttpAnswer } from './exchange';
import { failure, retry, success, type BackoffPolicy, type RetryDecision } from './retry';
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

/**
 * The module's secrets from the platform's secrets API (`GET url_secrets` → `{"value": {...}}`).
 * Outages and throttling are retried; a refused token or a bad request fails at once with a
 * named error. The token never appears in a message or a cause.
 */
export async function fetchModuleSecrets(o: FetchModuleSecretsOptions): Promise<Record<string, unknown>> {
  return retry(() => fetchOnce(o), {
    clock: o.clock,
    sleep: o.sleep,
    policy: o.policy ?? SECRETS_RETRY,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
}

function fetchOnce(o: FetchModuleSecretsOptions): Promise<RetryDecision<Record<string, unknown>>> {
  const request = (): Promise<AxiosResponse<unknown>> =>
    o.http.get<unknown>(o.url, {
      headers: { Authorization: `Bearer ${o.token}`, Accept: 'application/json' },
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  return exchange(request, secretsRules(o), o.signal);
}

/** The secrets API's own rules: which setting to fix, and the `{"value": {...}}` body. */
function secretsRules(o: FetchModuleSecretsOptions): ExchangeRules<Record<string, unknown>> {
  const rules: ExchangeRules<Record<string, unknown>> = {
    peer: `The secrets API at ${hostOf(o.url)}`,
    hint: 'Check url_secrets and the network.',
    field: 'url_secrets',
    clock: o.clock,
    secrets: [o.token],
    unauthorized: {
      message: (status) =>
        `The module token was refused by the secrets API (HTTP ${status}). The platform provides the token: restart the trigger, and contact support if it persists.`,
      field: 'token',
    },
    accept: (answer) => parseSecrets(answer, rules),
  };
  return rules;
}

function parseSecrets(
  answer: HttpAnswer,
  rules: ExchangeRules<Record<string, unknown>>,
): RetryDecision<Record<string, unknown>> {
  const parsed = parseJson(answer.text);
  if (parsed === undefined) {
    // A secrets URL answering something else than JSON is a wrong url_secrets: retrying will not help.
    const message = `The secrets API answered something that is not JSON: ${safeExcerpt(answer.text, rules.secrets)}. Check url_secrets.`;
    return failure(malformed(message, answer, rules));
  }
  const value = (parsed.value as { value?: unknown } | null)?.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    // Do not excerpt a JSON body here: it may hold secrets in an unexpected shape.
    const message = 'The secrets API answered JSON without a "value" object. Check url_secrets.';
    return failure(malformed(message, answer, rules, { quote: false }));
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
