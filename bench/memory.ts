import { startBacklog } from './backlog';
import { planCpus, type CpuPlan } from './cpu-pinning';
import { drain, type DrainResult } from './drain';
import { MiB, figure, median, round, type BenchResult } from './stats';
import { STREAM_NAMES } from '../trigger_fetch_new_logs/streams';

export interface MemoryOptions {
  records: number;
  runs: number;
  /** Raw by default; `ecs` measures the normaliser's documents too. */
  outputFormat?: 'raw' | 'ecs';
  /** More trigger settings (max_parallel_requests 1, to compare with one window at a time). */
  settings?: Record<string, unknown>;
}

/**
 * A large backlog (a million records over 70 hours) drained end to end, raw output: the
 * trigger process's peak RSS (VmHWM, read from /proc) as the backlog drains. The simulator
 * holds the backlog in a process of its own, so its ~1.7 GB does not count.
 */
export async function memory(options: MemoryOptions, cpus: CpuPlan = planCpus()): Promise<BenchResult> {
  const format = options.outputFormat ?? 'raw';
  const { counts, simulator, intake } = await startBacklog({ ...options, spanHours: 70, seed: 13 }, cpus);
  const milestones = [0.25, 0.5, 0.75, 1].map((f) => Math.round(options.records * f));
  const results: DrainResult[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      results.push(
        await drain({
          simulator,
          intake,
          cpus,
          outputFormat: format,
          logTypes: STREAM_NAMES,
          startTimeHours: 71,
          expected: simulator.stored,
          timeoutMs: 600_000,
          milestones,
          ...(options.settings === undefined ? {} : { settings: options.settings }),
        }),
      );
    }
  } finally {
    await intake.stop();
    await simulator.stop();
  }
  const mib = (bytes: number): number => round(bytes / MiB, 1);
  const label = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  const figures = milestones.map((m) =>
    figure(
      'memory',
      `trigger peak RSS after ${label(m)} of a ${label(options.records)}-record backlog, ${format}`,
      'MiB',
      results.map((r) => mib(r.peakRssAt[m] ?? Number.NaN)),
      { value: format === 'raw' ? 120 : 160, atMost: true },
    ),
  );
  return {
    name: format === 'raw' ? 'memory' : 'memory-ecs',
    figures,
    details: {
      backlog: counts,
      spread: `70 h of logs (start_time 71), 3 streams, page size 500, ${format} output, no latency`,
      processes:
        'trigger = `node dist/main.js fetch_new_logs` (own process, FileCheckpointStore in a temp dir); simulator = a child process holding the backlog; intake stand-in = the bench process (counts, keeps nothing)',
      measure:
        'VmHWM of the trigger process (/proc/<pid>/status), read every 50 ms and when each milestone is reached',
      simulatorRssMiB: mib(simulator.rssBytes),
      simulatorGenerationMs: simulator.generatedMs,
      drainEventsPerSecond: round(median(results.map((r) => r.eventsPerSecond))),
      runs: results.map((r) => ({
        peakRssMiB: Object.fromEntries(Object.entries(r.peakRssAt).map(([k, v]) => [k, mib(v)])),
        eventsPerSecond: round(r.eventsPerSecond),
        wallMs: round(r.wallMs),
        triggerCpuShare: round(r.cpuShare, 2),
        extra: r.extra,
        exitCode: r.exitCode,
      })),
    },
  };
}
