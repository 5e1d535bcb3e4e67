/**
 * What the simulated server counts, so tests can compare what a collector cost (requests per
 * stream, first pages against token pages) and what it met (empty pages, expired tokens, 429s).
 */
import { STREAMS, type StreamName } from './dataset';
import type { Reply } from './tmes-replies';

export interface RequestCounts {
  /** Requests without a token: first pages of a read. */
  withoutToken: number;
  /** Requests carrying a token: the following pages. */
  withToken: number;
}

export interface SimulatorStats {
  requests: number;
  /** Log requests of each stream, whatever the answer (faults and 429s included). */
  requestsByStream: Record<StreamName, RequestCounts>;
  /** 200 responses carrying a complete page (empty token pages included). */
  pages: number;
  /** Records sent in complete pages, per stream. */
  served: Record<StreamName, number>;
  statuses: Record<number, number>;
  /** Connections destroyed without an answer. */
  dropped: number;
  /** Pages sent with no logs and a nextToken (emptyPageRate). */
  emptyPages: number;
  /** Requests refused because their token had expired (tokenLifeMs). */
  expiredTokens: number;
  /** Requests refused by the rate limit (rateLimit; not the random 429 fault). */
  rateLimited: number;
}

export function newStats(): SimulatorStats {
  const perStream = <T>(make: () => T): Record<StreamName, T> =>
    Object.fromEntries(STREAMS.map((stream) => [stream, make()])) as Record<StreamName, T>;
  return {
    requests: 0,
    requestsByStream: perStream(() => ({ withoutToken: 0, withToken: 0 })),
    pages: 0,
    served: perStream(() => 0),
    statuses: {},
    dropped: 0,
    emptyPages: 0,
    expiredTokens: 0,
    rateLimited: 0,
  };
}

export function countRequest(stats: SimulatorStats, stream: StreamName, params: URLSearchParams): void {
  const counts = stats.requestsByStream[stream];
  if ((params.get('token') ?? '') === '') counts.withoutToken++;
  else counts.withToken++;
}

export function countReply(stats: SimulatorStats, reply: Reply): void {
  if (reply.page !== undefined) {
    stats.pages++;
    stats.served[reply.page.stream] += reply.page.count;
  }
  if (reply.note === 'emptyPage') stats.emptyPages++;
  if (reply.note === 'expiredToken') stats.expiredTokens++;
  if (reply.note === 'rateLimited') stats.rateLimited++;
}
