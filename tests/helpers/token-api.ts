/**
 * A small TMES-like log API on 127.0.0.1 for the page-token tests: pages of `limit` records,
 * and the token behaviours the simulator does not model (yet): token life with 204 / empty /
 * 400 / 401 answers on expiry, handle tokens (one string for every page), empty pages that
 * carry a token, and a token that loops on the same page.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Clock } from '@sekoia/automation-sdk-shim';
import { closeHttp, listenHttp } from '@sekoia/automation-sdk-shim/testing';

export type ExpiryAnswer = 204 | 'empty' | 400 | 401 | 403;

export interface TokenApiOptions {
  clock: Clock;
  records: Record<string, unknown>[];
  username?: string;
  apiKey?: string;
  /** A token older than this (on `clock`) is expired; default: never. */
  tokenLifeMs?: number;
  /** What an expired token gets. */
  expiry?: ExpiryAnswer;
  /** `opaque`: a new token per page (with + / =); `handle`: one string for every page. */
  tokens?: 'opaque' | 'handle';
  /** Before every page whose index is a multiple of this (but 0), an empty page with a token. */
  emptyPageEvery?: number;
  /** From this page on, the token handed out is the request's own and the page is repeated. */
  loopFromPage?: number;
  /** The last page carries a token too (the request after it gets 204). */
  tokenOnLastPage?: boolean;
  /** Every request carrying a token gets this status (a broken token service). */
  refuseEveryToken?: 400 | 401 | 403;
}

export interface SeenRequest {
  token: string | undefined;
  limit: string | null;
  start: string | null;
  end: string | null;
  at: number;
}

interface Cursor {
  offset: number;
  /** An empty page was already served in front of this offset. */
  emptyServed: boolean;
  issuedAt: number;
}

const HANDLE = 'aGFuZGxl+/==';

export class TokenApi {
  readonly requests: SeenRequest[] = [];
  private readonly server: Server;
  private readonly cursors = new Map<string, Cursor>();
  private next = 0;
  private url = '';

  constructor(private readonly options: TokenApiOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res);
    });
  }

  async start(): Promise<string> {
    const port = await listenHttp(this.server, 0, '127.0.0.1');
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  stop(): Promise<void> {
    return closeHttp(this.server);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const query = new URL(req.url ?? '/', this.url).searchParams;
    const token = query.get('token') ?? undefined;
    const now = this.options.clock.now();
    this.requests.push({
      token,
      limit: query.get('limit'),
      start: query.get('start'),
      end: query.get('end'),
      at: now,
    });
    if (!this.authorized(req)) {
      send(res, 401, { code: 'AuthenticationMissingOrInvalid', message: 'Invalid credentials.' });
      return;
    }
    if (token !== undefined && this.options.refuseEveryToken !== undefined) {
      send(res, this.options.refuseEveryToken, { code: 'Refused', message: 'token refused' });
      return;
    }
    const cursor =
      token === undefined ? { offset: 0, emptyServed: false, issuedAt: now } : this.cursors.get(token);
    if (cursor === undefined) {
      send(res, 400, { code: 'InvalidFormat', message: 'Invalid token.' });
      return;
    }
    const life = this.options.tokenLifeMs;
    if (token !== undefined && life !== undefined && now - cursor.issuedAt > life) {
      this.expired(res);
      return;
    }
    this.page(res, cursor, Number(query.get('limit') ?? '500'), token, now);
  }

  private page(
    res: ServerResponse,
    cursor: Cursor,
    limit: number,
    token: string | undefined,
    now: number,
  ): void {
    const { records, emptyPageEvery, loopFromPage } = this.options;
    const index = Math.floor(cursor.offset / limit);
    if (emptyPageEvery !== undefined && index > 0 && index % emptyPageEvery === 0 && !cursor.emptyServed) {
      send(res, 200, { nextToken: this.issue({ ...cursor, emptyServed: true, issuedAt: now }), logs: [] });
      return;
    }
    if (cursor.offset >= records.length) {
      res.writeHead(204).end();
      return;
    }
    const logs = records.slice(cursor.offset, cursor.offset + limit);
    const stop = cursor.offset + logs.length;
    if (loopFromPage !== undefined && index >= loopFromPage && token !== undefined) {
      send(res, 200, { nextToken: token, logs });
      return;
    }
    const more = stop < records.length || this.options.tokenOnLastPage === true;
    const nextToken = more ? this.issue({ offset: stop, emptyServed: false, issuedAt: now }) : undefined;
    send(res, 200, nextToken === undefined ? { logs } : { nextToken, logs });
  }

  /** A new token for `cursor` (a handle is one string, re-pointed at each page). */
  private issue(cursor: Cursor): string {
    const token =
      this.options.tokens === 'handle'
        ? HANDLE
        : Buffer.from(`\xfb\xff\xbf${this.next++}`, 'latin1').toString('base64') + '==';
    this.cursors.set(token, cursor);
    return token;
  }

  private expired(res: ServerResponse): void {
    const answer = this.options.expiry ?? 204;
    if (answer === 204) res.writeHead(204).end();
    else if (answer === 'empty') send(res, 200, { logs: [] });
    else send(res, answer, { code: 'InvalidToken', message: 'The token has expired.' });
  }

  private authorized(req: IncomingMessage): boolean {
    const { username = 'demo', apiKey = 'demo-api-key' } = this.options;
    return req.headers.authorization === `Basic ${Buffer.from(`${username}:${apiKey}`).toString('base64')}`;
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', date: new Date().toUTCString() });
  res.end(text);
}

/** `count` distinct records, one second apart from `from`. */
export function makeRecords(count: number, from: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    id: i,
    genTime: new Date(from + i * 1_000).toISOString(),
    mailID: `mail-${i}`,
  }));
}
