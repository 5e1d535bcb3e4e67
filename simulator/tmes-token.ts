/**
 * Page tokens. Opaque base64 that always contains `+`, `/` and `=` (as real TMES tokens do),
 * so a collector that pastes one raw into a URL gets a space for the `+` and is refused.
 *
 * A token carries the window it was issued for, frozen at the first page (horizon and
 * visibility applied then), so every page of one window is cut from the same record set even
 * while the clock moves; and a hash of the query, so it cannot be replayed on another window.
 */
export interface PageToken {
  /** Hash of the query the token belongs to (stream, start, end, filters). */
  binding: number;
  /** Effective genTime bounds of the window, inclusive, fixed at the first page. */
  lo: number;
  hi: number;
  /** Index of the first record of the next page. */
  offset: number;
}

/** 0xFB 0xFF 0xBF encodes as "+/+/": every token has both characters whatever the payload. */
const MAGIC = Buffer.from([0xfb, 0xff, 0xbf]);
/** Scrambles the payload so the token looks (and is meant to be treated as) opaque. */
const KEY = Buffer.from('TMES-simulator-page-token', 'utf8');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function encodeToken(token: PageToken): string {
  let json = JSON.stringify({ b: token.binding, l: token.lo, h: token.hi, o: token.offset });
  // A byte length of 3k+1 ends the base64 text with "==".
  while ((MAGIC.length + Buffer.byteLength(json)) % 3 !== 1) json += ' ';
  return Buffer.concat([MAGIC, scramble(Buffer.from(json, 'utf8'))]).toString('base64');
}

/** The token, or undefined when it is not one of ours (mangled, truncated, invented). */
export function decodeToken(text: string): PageToken | undefined {
  if (!BASE64.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length <= MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  try {
    const payload = JSON.parse(scramble(bytes.subarray(MAGIC.length)).toString('utf8')) as Record<
      string,
      unknown
    >;
    const { b, l, h, o } = payload;
    if (typeof b !== 'number' || typeof l !== 'number' || typeof h !== 'number' || typeof o !== 'number') {
      return undefined;
    }
    return { binding: b, lo: l, hi: h, offset: o };
  } catch {
    return undefined;
  }
}

function scramble(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] ?? 0) ^ (KEY[i % KEY.length] ?? 0);
  return out;
}
