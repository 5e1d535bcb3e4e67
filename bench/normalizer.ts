import { generateDataset, type StreamName, type TmesRecord } from '../simulator';
import { normalize } from '../trigger_fetch_new_logs/normalizer';
import { figure, round, type BenchResult } from './stats';

export interface NormalizerOptions {
  /** Records per kind (mail tracking, policy events). */
  records: number;
  runs: number;
}

/**
 * normalize() alone, in this process: records per second for mail tracking records (accepted
 * and blocked traffic, 3:1) and for policy events, over a seeded dataset. One untimed pass
 * first, so the figures are for optimised code, as in a trigger that has run for a while.
 */
export function normalizer(options: NormalizerOptions): BenchResult {
  const now = Date.now();
  const data = generateDataset({
    start: now - 24 * 3_600_000,
    end: now,
    counts: {
      accepted_traffic: Math.round(options.records * 0.75),
      blocked_traffic: options.records - Math.round(options.records * 0.75),
      policy_events: options.records,
    },
    seed: 5,
  });
  const kinds: { label: string; records: [TmesRecord, StreamName][] }[] = [
    {
      label: 'mail tracking',
      records: [
        ...data.accepted_traffic.map((r): [TmesRecord, StreamName] => [r, 'accepted_traffic']),
        ...data.blocked_traffic.map((r): [TmesRecord, StreamName] => [r, 'blocked_traffic']),
      ],
    },
    { label: 'policy events', records: data.policy_events.map((r) => [r, 'policy_events']) },
  ];
  const figures = kinds.map(({ label, records }) => {
    pass(records);
    const rates: number[] = [];
    for (let run = 0; run < options.runs; run++) rates.push(round(pass(records)));
    return figure('normaliser', `normalize(), ${label}`, 'records/s', rates, { value: 100_000 });
  });
  return {
    name: 'normaliser',
    figures,
    details: {
      records: { mailTracking: kinds[0]?.records.length, policyEvents: kinds[1]?.records.length },
      how: 'normalize(record, stream) over parsed records, in the bench process, after one untimed pass',
    },
  };
}

/** One timed pass; returns records per second. */
function pass(records: readonly [TmesRecord, StreamName][]): number {
  let withoutMessage = 0;
  const started = process.hrtime.bigint();
  for (const [record, stream] of records) {
    // Reading the result keeps the call from being optimised away.
    if (normalize(record, stream).message === undefined) withoutMessage++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (withoutMessage > 0)
    throw new Error(`normalize() returned ${withoutMessage} documents without "message"`);
  return records.length / seconds;
}
