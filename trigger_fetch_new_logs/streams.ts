/**
 * The three TMES log streams: the one list of their names in code (the simulator, the CLI, the
 * benchmarks and the normaliser import it). Each has its own endpoint parameters and its own
 * cursor; they are collected concurrently and independently. JSON files cannot import, so
 * tests/unit/streams.test.ts holds the trigger and connector forms, config.example.json and
 * the checkpoint schema to this list.
 */
export const STREAM_NAMES = ['accepted_traffic', 'blocked_traffic', 'policy_events'] as const;

export type StreamName = (typeof STREAM_NAMES)[number];

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
