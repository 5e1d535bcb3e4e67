/**
 * Page tokens. Opaque base64 that always contains `+`, `/` and `=` (as real TMES tokens do),
 * so a collector that pastes one raw into a URL gets a space for the `+` and is refused.
 *
 * An 'opaque' token carries the read it was issued for, frozen at the first page (horizon and
 * visibility applied then), so every page of one read is cut from the same record set even
 * while the clock moves; and a hash of the query, so it cannot be replayed on another window.
 * A 'handle' token carries only the number of a cursor the server keeps (tmes-cursors.ts).
 */
export interface PageToken {
  /** Hash of the query the token belongs to (stream, start, end, filters). */
  binding: number;
  /** Effective filter-time bounds of the window, inclusive, fixed at the first page. */
  lo: number;
  hi: number;
  /** Index of the first record of the next page. */
  offset: number;
  /** Clock time of the read's first page, when visibility is decided per record. */
  asOf?: number;
  /** Requests answered so far in this read (drives the empty-page draws). */
  page?: number;
  /** Clock time the token was issued (token life). */
  issuedAt?: number;
}

/** 0xFB 0xFF 0xBF encodes as "+/+/": every token has both characters whatever the payload. */
const MAGIC = Buffer.from([0xfb, 0xff, 0xbf]);
/** Scrambles the payload so the token looks (and is meant to be treated as) opaque. */
const KEY = Buffer.from('TMES-simulator-page-token', 'utf8');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function encodeToken(token: PageToken): string {
  const payload: Record<string, number> = { b: token.binding, l: token.lo, h: token.hi, o: token.offset };
  // Optional fields only when set: the default tokens stay what they always were.
  if (token.asOf !== undefined) payload.a = token.asOf;
  if (token.page !== undefined) payload.p = token.page;
  if (token.issuedAt !== undefined) payload.i = token.issuedAt;
  return seal(payload);
}

/** The token, or undefined when it is not one of ours (mangled, truncated, invented, a handle). */
export function decodeToken(text: string): PageToken | undefined {
  const payload = unseal(text);
  if (payload === undefined) return undefined;
  const { b, l, h, o, a, p, i } = payload;
  if (typeof b !== 'number' || typeof l !== 'number' || typeof h !== 'number' || typeof o !== 'number') {
    return undefined;
  }
  const token: PageToken = { binding: b, lo: l, hi: h, offset: o };
  if (typeof a === 'number') token.asOf = a;
  if (typeof p === 'number') token.page = p;
  if (typeof i === 'number') token.issuedAt = i;
  return token;
}

export function encodeHandle(id: number): string {
  return seal({ k: id });
}

/** The cursor number of a handle token, or undefined when the text is not a handle of ours. */
export function decodeHandle(text: string): number | undefined {
  const k = unseal(text)?.k;
  return typeof k === 'number' ? k : undefined;
}

function seal(payload: Record<string, number>): string {
  let json = JSON.stringify(payload);
  // A byte length of 3k+1 ends the base64 text with "==".
  while ((MAGIC.length + Buffer.byteLength(json)) % 3 !== 1) json += ' ';
  return Buffer.concat([MAGIC, scramble(Buffer.from(json, 'utf8'))]).toString('base64');
}

function unseal(text: string): Record<string, unknown> | undefined {
  if (!BASE64.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length <= MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  try {
    const payload: unknown = JSON.parse(scramble(bytes.subarray(MAGIC.length)).toString('utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function scramble(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] ?? 0) ^ (KEY[i % KEY.length] ?? 0);
  return out;
}
