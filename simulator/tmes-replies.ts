/**
 * The answers the simulated server sends, as values (status, body, headers) before gzip: TMES
 * error bodies, gateway faults, throttling and the answers to an expired token.
 */
import type { StreamName, TmesRecord } from './dataset';
import type { ExpiredTokenAnswer, FaultOptions } from './tmes-options';
import { type ApiFailure, INVALID_FORMAT } from './tmes-query';

/** What happened, beyond the status, for the simulator's stats. */
export type ReplyNote = 'emptyPage' | 'expiredToken' | 'rateLimited';

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Records carried by a complete page, for stats. */
  page?: { stream: StreamName; count: number };
  note?: ReplyNote;
}

export type Fault = '429' | '500' | 'drop' | 'html502' | 'truncated';

export const JSON_TYPE = 'application/json; charset=utf-8';
const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

export function failure(problem: ApiFailure): Reply {
  return {
    status: problem.status,
    body: JSON.stringify({ code: problem.code, message: problem.message }),
    contentType: JSON_TYPE,
  };
}

export const NO_CONTENT: Reply = { status: 204, body: '' };

export function pageReply(stream: StreamName, logs: TmesRecord[], nextToken: string | undefined): Reply {
  return {
    status: 200,
    body: JSON.stringify(nextToken === undefined ? { logs } : { nextToken, logs }),
    contentType: JSON_TYPE,
    page: { stream, count: logs.length },
    ...(logs.length === 0 && nextToken !== undefined ? { note: 'emptyPage' as const } : {}),
  };
}

export function tooManyRequests(seconds: number): Reply {
  const message = `Too many requests. Retry after ${seconds} seconds.`;
  return {
    ...failure({ status: 429, code: 'TooManyRequests', message }),
    headers: { 'Retry-After': String(seconds) },
  };
}

export function faultReply(fault: Exclude<Fault, 'drop' | 'truncated'>, options: FaultOptions): Reply {
  switch (fault) {
    case '429':
      return tooManyRequests(options.retryAfterSeconds ?? 1);
    case '500':
      return failure({ status: 500, code: 'InternalServerError', message: 'Internal server error.' });
    case 'html502':
      return { status: 502, body: HTML_502, contentType: 'text/html' };
  }
}

export function expiredTokenReply(answer: ExpiredTokenAnswer): Reply {
  const reply = ((): Reply => {
    switch (answer) {
      case '204':
        return NO_CONTENT;
      case 'empty':
        return { status: 200, body: JSON.stringify({ logs: [] }), contentType: JSON_TYPE };
      case '400':
        // Indistinguishable from a mangled token: nothing tells the client it has expired.
        return failure(INVALID_FORMAT);
      case '401':
        return failure({
          status: 401,
          code: 'AuthenticationMissingOrInvalid',
          message: 'The credential is missing or invalid.',
        });
    }
  })();
  return { ...reply, note: 'expiredToken' };
}

/** Half of a page's bytes: valid HTTP, invalid JSON. Non-page answers pass through untouched. */
export function truncated(reply: Reply): Reply {
  if (reply.status !== 200) return reply;
  const bytes = Buffer.from(reply.body, 'utf8');
  return {
    status: 200,
    body: bytes.subarray(0, Math.floor(bytes.length / 2)).toString('utf8'),
    contentType: JSON_TYPE,
  };
}
