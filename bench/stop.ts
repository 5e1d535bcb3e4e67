import { planCpus, pin, type CpuPlan } from './cpu-pinning';
import { withTimeout } from './drain';
import { split } from './backlog';
import { IntakeCounter } from './intake-counter';
import { SimulatorProcess } from './simulator-process';
import { figure, round, type BenchResult } from './stats';
import { TriggerProcess } from './trigger-process';
import { STREAM_NAMES } from '../trigger_fetch_new_logs/streams';

const HOUR = 3_600_000;

export interface StopOptions {
  records: number;
  /** SIGTERM once the intake acknowledged this many events. */
  stopAfter: number;
  runs: number;
}

interface StopRun {
  stopMs: number;
  exitCode: number | null;
  acknowledgedAtStop: number;
  acknowledgedAtExit: number;
  /** Per stream: how far the cursor moved from the first-run start, and records of the open window acknowledged. */
  progress: Record<string, { cursorMovedMinutes: number; windowDelivered: number }>;
}

/**
 * SIGTERM while the trigger drains a backlog at full speed: time from the signal to the
 * process exit, then the checkpoint file is read back. It must parse, and must stand past
 * where the run started, or a restart would send everything again.
 */
export async function stop(options: StopOptions, cpus: CpuPlan = planCpus()): Promise<BenchResult> {
  pin(process.pid, cpus.orchestrator, cpus);
  const simulator = await SimulatorProcess.start(
    { counts: split(options.records), spanMs: 24 * HOUR, endAgoMs: 2 * 60_000, seed: 19, latencyMs: 0 },
    cpus,
  );
  const intake = new IntakeCounter();
  await intake.start();
  const runs: StopRun[] = [];
  try {
    for (let run = 0; run < options.runs; run++) runs.push(await stopOnce(simulator, intake, cpus, options));
  } finally {
    await intake.stop();
    await simulator.stop();
  }
  const failed = runs.filter(
    (r) =>
      r.exitCode !== 0 ||
      !Object.values(r.progress).some((p) => p.cursorMovedMinutes > 0 || p.windowDelivered > 0),
  );
  if (failed.length > 0)
    throw new Error(`A stop left no usable checkpoint or a non-zero exit: ${JSON.stringify(failed)}`);
  return {
    name: 'stop',
    figures: [
      figure(
        'stop',
        `SIGTERM → exit while draining, checkpoint written`,
        'ms',
        runs.map((r) => round(r.stopMs)),
        { value: 5_000, atMost: true },
      ),
    ],
    details: {
      backlog: split(options.records),
      when: `SIGTERM once ${options.stopAfter} events were acknowledged (trigger at full speed, no latency)`,
      checks:
        'exit code 0; context.json parses; every run: some stream cursor past its first-run start, or acknowledged records in its open window',
      runs,
    },
  };
}

async function stopOnce(
  simulator: SimulatorProcess,
  intake: IntakeCounter,
  cpus: CpuPlan,
  options: StopOptions,
): Promise<StopRun> {
  intake.reset();
  const startTimeHours = 25;
  const firstRunStart = Date.now() - startTimeHours * HOUR;
  const trigger = new TriggerProcess(
    {
      simulatorUrl: simulator.url,
      intakeUrl: intake.standIn.url,
      outputFormat: 'raw',
      logTypes: STREAM_NAMES,
      startTimeHours,
    },
    cpus,
  );
  try {
    await withTimeout(
      intake.reached(options.stopAfter),
      120_000,
      () =>
        `The trigger delivered ${intake.count} events before the deadline. Its last output:\n${trigger.output()}`,
    );
    const acknowledgedAtStop = intake.count;
    const signalled = process.hrtime.bigint();
    const exit = await trigger.terminate(30_000);
    const stopMs = Number(exit.at - signalled) / 1e6;
    return {
      stopMs,
      exitCode: exit.code,
      acknowledgedAtStop,
      acknowledgedAtExit: intake.count,
      progress: progressOf(trigger.checkpoint(), firstRunStart),
    };
  } finally {
    await trigger.dispose();
  }
}

/** Reads the checkpoint document (version 2) the way a restart would need it. */
function progressOf(document: unknown, firstRunStart: number): StopRun['progress'] {
  const streams = (document as { version?: unknown; streams?: Record<string, unknown> } | null)?.streams;
  if (typeof streams !== 'object')
    throw new Error(`The checkpoint has no "streams": ${JSON.stringify(document).slice(0, 300)}`);
  const progress: StopRun['progress'] = {};
  for (const name of STREAM_NAMES) {
    const stored = streams[name] as { cursor?: unknown; window?: { delivered?: unknown } } | undefined;
    const cursor = typeof stored?.cursor === 'string' ? Date.parse(stored.cursor) : Number.NaN;
    if (Number.isNaN(cursor)) throw new Error(`The checkpoint has no valid cursor for ${name}.`);
    const delivered = stored?.window?.delivered;
    progress[name] = {
      // The first-run start is taken a moment before the trigger's own: allow it that margin.
      cursorMovedMinutes: round(Math.max(0, cursor - firstRunStart - 60_000) / 60_000, 1),
      windowDelivered: Array.isArray(delivered) ? delivered.length : 0,
    };
  }
  return progress;
}
