import { inspect } from 'node:util';
import type { LookupFunction } from 'node:net';
import { NetworkFailure, createHttpClient, networkFailureKind } from '../src/http';

describe('NetworkFailure', () => {
  it.each([
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['EPROTO', 'tls'],
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['ECONNABORTED', 'timeout'],
    ['EHOSTUNREACH', 'unreachable'],
    ['ECONNRESET', 'reset'],
    ['ERR_BAD_RESPONSE', 'other'],
    [undefined, 'other'],
  ] as const)('classifies %s as %s', (code, kind) => {
    expect(networkFailureKind(code)).toBe(kind);
  });

  it('keeps the code and a one-line description of an axios error, never its request config', async () => {
    const secret = 'Basic c2VjcmV0LWtleQ==';
    const error = await createHttpClient({ timeoutMs: 2_000 })
      .get('http://127.0.0.1:1/x', { headers: { Authorization: secret } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    // The raw error does carry the header: that is what this class is for.
    expect(inspect(error, { depth: 10 })).toContain(secret);
    const failure = new NetworkFailure(error);
    expect(failure).toMatchObject({ name: 'NetworkFailure', code: 'ECONNREFUSED', kind: 'refused' });
    expect(failure.message).toBe('ECONNREFUSED');
    expect(failure.cause).toBeUndefined();
    const shown = `${inspect(failure, { depth: 10, showHidden: true })}${JSON.stringify(failure)}`;
    expect(shown).not.toContain(secret);
  });
});

describe('createHttpClient', () => {
  it('resolves host names with the lookup it is given, for http and https', async () => {
    const asked: string[] = [];
    const lookup: LookupFunction = (hostname, _options, callback) => {
      asked.push(hostname);
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      process.nextTick(() => {
        callback(error, '', 0);
      });
    };
    const client = createHttpClient({ timeoutMs: 2_000, lookup });
    for (const url of ['http://one.example.invalid/x', 'https://two.example.invalid/x']) {
      const error: unknown = await client.get(url).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'ENOTFOUND' });
    }
    expect(asked).toEqual(['one.example.invalid', 'two.example.invalid']);
  });
});
