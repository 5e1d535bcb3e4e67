import { pin, type CpuPlan } from './cpu-pinning';
import { IntakeCounter } from './intake-counter';
import { SimulatorProcess } from './simulator-process';
import type { StreamName } from '../trigger_fetch_new_logs/streams';

const HOUR = 3_600_000;

export interface BacklogSpec {
  records: number;
  /** How many hours of logs the backlog spreads over, ending 2 minutes ago. */
  spanHours: number;
  seed: number;
}

export interface Backlog {
  counts: Record<StreamName, number>;
  simulator: SimulatorProcess;
  intake: IntakeCounter;
}

/**
 * What a drain bench starts with: the bench process pinned to its core, a backlog of `records` in
 * the integration tests' mix, served with no latency by a simulator child process, and an intake stand-in that counts. The caller stops both.
 */
export async function startBacklog(spec: BacklogSpec, cpus: CpuPlan): Promise<Backlog> {
  pin(process.pid, cpus.orchestrator, cpus);
  const counts = split(spec.records);
  const simulator = await SimulatorProcess.start(
    { counts, spanMs: spec.spanHours * HOUR, endAgoMs: 2 * 60_000, seed: spec.seed, latencyMs: 0 },
    cpus,
  );
  const intake = new IntakeCounter();
  await intake.start();
  return { counts, simulator, intake };
}

/** The mix of the integration tests: 60 % accepted, 20 % blocked, 20 % policy events. */
export function split(total: number): Record<StreamName, number> {
  const accepted = Math.round(total * 0.6);
  const blocked = Math.round(total * 0.2);
  return { accepted_traffic: accepted, blocked_traffic: blocked, policy_events: total - accepted - blocked };
}
