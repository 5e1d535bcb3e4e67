import { TmesSimulator, type GenerateOptions } from '../simulator';
import type { StreamName } from '../trigger_fetch_new_logs/streams';

export const DEMO_USERNAME = 'demo';
/** Not a secret: the simulator's own credentials, shown so the demo is reproducible by hand. */
export const DEMO_API_KEY = 'demo-api-key';
export const DEMO_INTAKE_KEY = 'DEMO-INTAKE-KEY';

const BACKLOG_MS = 2 * 3_600_000;
/** A realistic mix: most mail is accepted; blocked traffic and policy events share the rest. */
const SHARE: Readonly<Record<StreamName, number>> = {
  accepted_traffic: 0.6,
  blocked_traffic: 0.2,
  policy_events: 0.2,
};

export interface DemoDataset {
  /** The last two hours, visible at once. */
  readonly backlog: GenerateOptions;
  /** New traffic from now on: each record becomes visible when the real clock reaches its genTime. */
  readonly live: GenerateOptions;
}

/**
 * What the demo tenant holds: `records` mails over the two hours before `now`, then live
 * traffic at a rate that keeps the live view moving (about one record per second per 600 of
 * backlog, at least one per second) until `liveUntil`. Both are seeded, so the dataset is
 * reproducible from these options alone (summary.json records them).
 */
export function planDataset(records: number, now: number, liveUntil: number): DemoDataset {
  const livePerSecond = Math.max(1, Math.round(records / 600));
  const liveRecords = Math.max(1, Math.round((livePerSecond * (liveUntil - now)) / 1000));
  return {
    backlog: { start: now - BACKLOG_MS, end: now, counts: split(records), seed: 1 },
    live: { start: now + 1, end: liveUntil, counts: split(liveRecords), seed: 2 },
  };
}

function split(total: number): Record<StreamName, number> {
  const accepted = Math.round(total * SHARE.accepted_traffic);
  const blocked = Math.round(total * SHARE.blocked_traffic);
  return {
    accepted_traffic: accepted,
    blocked_traffic: blocked,
    policy_events: Math.max(0, total - accepted - blocked),
  };
}

/** The simulator faults `--faults` turns on: throttling, server errors and dropped connections. */
const DEMO_FAULTS = { rate429: 0.1, retryAfterSeconds: 1, rate500: 0.1, rateDrop: 0.05, seed: 7 };

/** The TMES API of the demo tenant, on 127.0.0.1, on the real clock. */
export async function startDemoTenant(
  dataset: DemoDataset,
  options: { latencyMs: number; faults: boolean },
): Promise<TmesSimulator> {
  const simulator = new TmesSimulator({
    username: DEMO_USERNAME,
    apiKey: DEMO_API_KEY,
    latencyMs: options.latencyMs,
    ...(options.faults ? { faults: DEMO_FAULTS } : {}),
  });
  simulator.generate(dataset.backlog);
  simulator.generate(dataset.live);
  await simulator.start();
  return simulator;
}
