/**
 * The three TMES log streams. Each has its own endpoint parameters and its own cursor; they
 * are collected concurrently and independently.
 */
export type StreamName = 'accepted_traffic' | 'blocked_traffic' | 'policy_events';

export const STREAM_NAMES: readonly StreamName[] = ['accepted_traffic', 'blocked_traffic', 'policy_events'];

export interface StreamDefinition {
  readonly name: StreamName;
  /** Path under the service URL. */
  readonly path: string;
  /** Fixed query parameters identifying the stream. */
  readonly params: Readonly<Record<string, string>>;
}

export const STREAMS: Readonly<Record<StreamName, StreamDefinition>> = {
  accepted_traffic: {
    name: 'accepted_traffic',
    path: '/api/v1/log/mailtrackinglog',
    params: { type: 'accepted_traffic' },
  },
  blocked_traffic: {
    name: 'blocked_traffic',
    path: '/api/v1/log/mailtrackinglog',
    params: { type: 'blocked_traffic' },
  },
  // Without `event`, the API returns every policy event type: one stream covers them all.
  policy_events: { name: 'policy_events', path: '/api/v1/log/policyeventlog', params: {} },
};

export function isStreamName(value: unknown): value is StreamName {
  return typeof value === 'string' && (STREAM_NAMES as readonly string[]).includes(value);
}
