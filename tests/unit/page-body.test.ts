import { AxiosError } from 'axios';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { decodeBody, decodeBodyBytes } from '../../trigger_fetch_new_logs/page-body';

const page = JSON.stringify({ logs: [{ mailID: 'é😀"\\', n: 1 }], nextToken: 'a+b/c=' });

describe('decodeBody', () => {
  it.each([
    ['gzip', gzipSync],
    ['x-gzip', gzipSync],
    ['deflate', deflateSync],
    ['deflate', deflateRawSync],
    ['br', brotliCompressSync],
    ['GZIP ', gzipSync],
  ] as const)('decodes %s', (encoding, compress) => {
    expect(decodeBody(compress(Buffer.from(page)), encoding)).toBe(page);
  });

  it('decodes a body that inflates far more than pages do (several output slices, joined)', () => {
    const large = JSON.stringify({
      logs: Array.from({ length: 20_000 }, () => ({ mailID: 'a'.repeat(50) })),
    });
    const compressed = gzipSync(Buffer.from(large));
    expect(large.length / compressed.length).toBeGreaterThan(50);
    expect(decodeBody(compressed, 'gzip')).toBe(large);
  });

  it('takes an unencoded body (no or unknown Content-Encoding) as UTF-8 text', () => {
    expect(decodeBody(Buffer.from(page), undefined)).toBe(page);
    expect(decodeBody(Buffer.from(page), 'identity')).toBe(page);
    expect(decodeBody(new Uint8Array(Buffer.from(page)), undefined)).toBe(page);
  });

  it('gives the decoded bytes with the text (the page digest hashes them, not the string)', () => {
    const { text, bytes } = decodeBodyBytes(gzipSync(Buffer.from(page)), 'gzip');
    expect(text).toBe(page);
    expect(bytes.equals(Buffer.from(page))).toBe(true);
  });

  it('drops a byte-order mark, as axios does for text', () => {
    expect(decodeBody(gzipSync(Buffer.from(`\ufeff${page}`)), 'gzip')).toBe(page);
  });

  it('reads an empty body (204) as empty text, and text from a test double as it is', () => {
    expect(decodeBody(Buffer.alloc(0), 'gzip')).toBe('');
    expect(decodeBody(undefined, undefined)).toBe('');
    expect(decodeBody(page, 'gzip')).toBe(page);
  });

  it('throws a retryable ERR_BAD_RESPONSE for a body that does not decode', () => {
    const truncated = gzipSync(Buffer.from(page)).subarray(0, 20);
    for (const [body, encoding] of [
      [Buffer.from(page), 'gzip'],
      [truncated, 'gzip'],
      [Buffer.from('not brotli'), 'br'],
    ] as const) {
      let thrown: unknown;
      try {
        decodeBody(body, encoding);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AxiosError);
      expect((thrown as AxiosError).code).toBe('ERR_BAD_RESPONSE');
      expect((thrown as Error).message).toContain(encoding);
    }
  });
});
