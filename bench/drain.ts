import type { CpuPlan } from './cpu-pinning';
import type { IntakeCounter } from './intake-counter';
import type { SimulatorProcess } from './simulator-process';
import { elapsedMs } from './stats';
import { TriggerProcess, type ProcessSample } from './trigger-process';

export interface DrainOptions {
  simulator: SimulatorProcess;
  intake: IntakeCounter;
  cpus: CpuPlan;
  outputFormat: 'raw' | 'ecs';
  logTypes: readonly string[];
  startTimeHours: number;
  /** Events the backlog holds for these log types: the run ends once all were acknowledged. */
  expected: number;
  timeoutMs: number;
  /** Event counts at which to note the trigger's peak RSS so far. */
  milestones?: readonly number[];
  /** More trigger settings (max_parallel_requests, for instance). */
  settings?: Record<string, unknown>;
  sampleEveryMs?: number;
}

export interface DrainResult {
  events: number;
  /** From spawning the trigger process to the last event acknowledged. */
  wallMs: number;
  /** From the first event acknowledged to the last. */
  steadyMs: number;
  eventsPerSecond: number;
  /** The trigger's CPU time over the run, and that divided by the wall time (1.0 = one core busy). */
  cpuSeconds: number;
  cpuShare: number;
  /** VmHWM at the end of the run. */
  peakRssBytes: number;
  /** Peak RSS (VmHWM) when each milestone was reached. */
  peakRssAt: Record<number, number>;
  /** Events beyond `expected` that arrived before the stop (duplicates). */
  extra: number;
  exitCode: number | null;
}

/** Runs the trigger over a backlog until the intake acknowledged all of it, then SIGTERM. */
export async function drain(options: DrainOptions): Promise<DrainResult> {
  const { simulator, intake } = options;
  intake.reset();
  const trigger = new TriggerProcess(
    {
      simulatorUrl: simulator.url,
      intakeUrl: intake.standIn.url,
      outputFormat: options.outputFormat,
      logTypes: options.logTypes,
      startTimeHours: options.startTimeHours,
      ...(options.settings === undefined ? {} : { settings: options.settings }),
    },
    options.cpus,
  );
  const peakRssAt: Record<number, number> = {};
  const pending = [...(options.milestones ?? [])].sort((a, b) => a - b);
  let last: ProcessSample | undefined;
  const sampler = setInterval(() => {
    last = trigger.sample() ?? last;
    while (pending[0] !== undefined && intake.count >= pending[0] && last !== undefined) {
      peakRssAt[pending.shift() ?? 0] = last.hwm;
    }
  }, options.sampleEveryMs ?? 50);
  try {
    await withTimeout(intake.reached(options.expected), options.timeoutMs, () => {
      return `The trigger delivered ${intake.count} of ${options.expected} events within ${options.timeoutMs} ms. Its last output:\n${trigger.output()}`;
    });
    const lastAt = intake.lastAt ?? process.hrtime.bigint();
    const firstAt = intake.firstAt ?? lastAt;
    const wallMs = Number(lastAt - trigger.startedAt) / 1e6;
    const end = trigger.sample() ?? last;
    clearInterval(sampler);
    if (end === undefined)
      throw new Error(`The trigger could not be measured. Its last output:\n${trigger.output()}`);
    for (const milestone of pending) peakRssAt[milestone] = end.hwm;
    const exit = await trigger.terminate();
    // Counted after the exit, so a batch sent twice during the stop shows too.
    return {
      events: options.expected,
      wallMs,
      steadyMs: Number(lastAt - firstAt) / 1e6,
      eventsPerSecond: (options.expected / wallMs) * 1000,
      cpuSeconds: end.cpuSeconds,
      cpuShare: end.cpuSeconds / (elapsedMs(trigger.startedAt) / 1000),
      peakRssBytes: end.hwm,
      peakRssAt,
      extra: intake.count - options.expected,
      exitCode: exit.code,
    };
  } finally {
    clearInterval(sampler);
    await trigger.dispose();
  }
}

export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  message: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(message()));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
