import { AxiosError } from 'axios';
import { brotliDecompressSync, inflateRawSync, unzipSync } from 'node:zlib';

/** As the HTTP client's maxContentLength: a body that inflates past this is refused. */
const MAX_DECODED_BYTES = 256 * 1024 * 1024;
/**
 * Output slices of the one-shot inflate, sized from the compressed body (JSON pages inflate
 * about 5–8×): a page in one slice, without reserving much more than it needs (the decoded
 * page is a view on its slice). A body that inflates more takes several slices, joined.
 */
const INFLATE_RATIO = 8;
const MIN_INFLATE_CHUNK_BYTES = 64 * 1024;
const MAX_INFLATE_CHUNK_BYTES = 1024 * 1024;

/**
 * The text of an API answer fetched as bytes with `decompress: false`: decoded per its
 * Content-Encoding in one synchronous call (gzip and deflate, br; anything else is taken as
 * is, as axios does), then read as UTF-8 without a byte-order mark (as axios's text
 * responses). A client that already gave text (a test double) is taken at its word.
 *
 * A body that does not decode (gzip announced, plain text sent; truncated) throws an
 * AxiosError ERR_BAD_RESPONSE: a transport-level failure, retried like a garbled answer.
 */
export function decodeBody(data: unknown, contentEncoding: unknown): string {
  return decodeBodyBytes(data, contentEncoding).text;
}

/** decodeBody's text, with the decoded bytes it was read from (its UTF-8 form). */
export function decodeBodyBytes(data: unknown, contentEncoding: unknown): { text: string; bytes: Buffer } {
  if (data === undefined || data === null) return { text: '', bytes: Buffer.alloc(0) };
  const bytes = asBuffer(data);
  if (bytes === undefined) {
    const text = typeof data === 'string' ? data : JSON.stringify(data);
    return { text, bytes: Buffer.from(text) };
  }
  const encoding = typeof contentEncoding === 'string' ? contentEncoding.trim().toLowerCase() : '';
  let decoded: Buffer;
  try {
    decoded = inflate(bytes, encoding);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new AxiosError(
      `the body announced as ${encoding.slice(0, 40)} could not be decoded (${typeof code === 'string' ? code : String(error)})`,
      AxiosError.ERR_BAD_RESPONSE,
    );
  }
  const text = decoded.toString('utf8');
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, bytes: decoded };
}

function inflate(bytes: Buffer, encoding: string): Buffer {
  if (bytes.length === 0) return bytes;
  const chunkSize = Math.min(
    MAX_INFLATE_CHUNK_BYTES,
    Math.max(MIN_INFLATE_CHUNK_BYTES, bytes.length * INFLATE_RATIO),
  );
  const options = { chunkSize, maxOutputLength: MAX_DECODED_BYTES };
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
    case 'compress':
    case 'x-compress':
      // unzip reads gzip and zlib-wrapped deflate alike (what axios accepts for these).
      return unzipSync(bytes, options);
    case 'deflate':
      // Servers send deflate with its zlib wrapper or without (raw), as axios tolerates.
      return isZlibHeader(bytes) ? unzipSync(bytes, options) : inflateRawSync(bytes, options);
    case 'br':
      return brotliDecompressSync(bytes, options);
    default:
      return bytes;
  }
}

/** A zlib stream starts with CMF (method 8, deflate) and FLG such that CMF·256+FLG is a multiple of 31. */
function isZlibHeader(bytes: Buffer): boolean {
  const cmf = bytes[0] ?? 0;
  const flg = bytes[1] ?? 0;
  return (cmf & 0x0f) === 8 && (cmf * 256 + flg) % 31 === 0;
}

function asBuffer(data: unknown): Buffer | undefined {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
