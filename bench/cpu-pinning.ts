import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * Which CPU each process of a benchmark may use. The trigger gets a core of its own, so an
 * "events/s on one core" figure means exactly that; the simulator and the intake stand-in
 * (this process) share the others. Without `taskset` (or with one core) nothing is pinned,
 * and the results say so.
 */
export interface CpuPlan {
  /** Prefix for the trigger's command line, e.g. ['taskset', '-c', '0']; empty when not pinned. */
  triggerPrefix: string[];
  trigger: string;
  simulator: string;
  orchestrator: string;
  pinned: boolean;
}

export function planCpus(): CpuPlan {
  const count = cpus().length;
  if (count < 2 || !hasTaskset()) {
    return { triggerPrefix: [], trigger: 'any', simulator: 'any', orchestrator: 'any', pinned: false };
  }
  const orchestrator = count >= 3 ? `2-${count - 1}` : '1';
  return { triggerPrefix: ['taskset', '-c', '0'], trigger: '0', simulator: '1', orchestrator, pinned: true };
}

/** Pins every thread of a running process (`-a`) to `cpuList`; no-op when not pinning. */
export function pin(pid: number, cpuList: string, plan: CpuPlan): void {
  if (!plan.pinned) return;
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

function hasTaskset(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
