import { startBacklog } from './backlog';
import { planCpus, type CpuPlan } from './cpu-pinning';
import { drain, type DrainResult } from './drain';
import { MiB, figure, median, round, type BenchResult } from './stats';
import { STREAM_NAMES, type StreamName } from '../trigger_fetch_new_logs/streams';

export interface MemoryOptions {
  records: number;
  runs: number;
  /** Raw by default; `ecs` measures the normaliser's documents too. */
  outputFormat?: 'raw' | 'ecs';
  /** More trigger settings (max_parallel_requests 1, to compare with one window at a time). */
  settings?: Record<string, unknown>;
}

/** The 1M-record backlog's spread: its records per hour set the density the rows compare at. */
const REFERENCE = { records: 1_000_000, spanHours: 70 };
/** The dense row: a 100k-record backlog with the reference's records per hour (so over 7 h). */
const DENSE_RECORDS = 100_000;

/**
 * A large backlog (a million records over 70 hours) drained end to end, raw output: the
 * trigger process's peak RSS (VmHWM, read from /proc) as the backlog drains. The simulator
 * holds the backlog in a process of its own, so its ~1.7 GB does not count.
 *
 * One more row drains a 100k-record backlog at the 1M backlog's density (7 h instead of 70):
 * a 100k backlog over 70 h is 10x sparser than the 1M one, so its windows are smaller; this row
 * separates what density adds to peak RSS (fuller windows, per-read maps, a denser trailing
 * ledger) from what a 10x longer run adds (code space, GC timing).
 */
export async function memory(options: MemoryOptions, cpus: CpuPlan = planCpus()): Promise<BenchResult> {
  const format = options.outputFormat ?? 'raw';
  const milestones = [0.25, 0.5, 0.75, 1].map((f) => Math.round(options.records * f));
  const main = await drainBacklog(
    options,
    { records: options.records, spanHours: REFERENCE.spanHours },
    milestones,
    cpus,
  );
  const denseSpanHours = (REFERENCE.spanHours * DENSE_RECORDS) / REFERENCE.records;
  const dense = await drainBacklog(
    options,
    { records: DENSE_RECORDS, spanHours: denseSpanHours },
    [DENSE_RECORDS],
    cpus,
  );
  const mib = (bytes: number): number => round(bytes / MiB, 1);
  const label = (n: number): string => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
  const figures = milestones.map((m) =>
    figure(
      'memory',
      `trigger peak RSS after ${label(m)} of a ${label(options.records)}-record backlog, ${format}`,
      'MiB',
      main.results.map((r) => mib(r.peakRssAt[m] ?? Number.NaN)),
      { value: format === 'raw' ? 120 : 160, atMost: true },
    ),
  );
  figures.push(
    figure(
      'memory',
      `trigger peak RSS, ${label(DENSE_RECORDS)}-record backlog at the ${label(REFERENCE.records)} backlog's density (${denseSpanHours} h), ${format}`,
      'MiB',
      dense.results.map((r) => mib(r.peakRssAt[DENSE_RECORDS] ?? Number.NaN)),
    ),
  );
  const runs = (results: DrainResult[]): unknown[] =>
    results.map((r) => ({
      peakRssMiB: Object.fromEntries(Object.entries(r.peakRssAt).map(([k, v]) => [k, mib(v)])),
      eventsPerSecond: round(r.eventsPerSecond),
      wallMs: round(r.wallMs),
      triggerCpuShare: round(r.cpuShare, 2),
      extra: r.extra,
      exitCode: r.exitCode,
    }));
  return {
    name: format === 'raw' ? 'memory' : 'memory-ecs',
    figures,
    details: {
      backlog: main.counts,
      spread: `${REFERENCE.spanHours} h of logs (start_time ${REFERENCE.spanHours + 1}), 3 streams, page size 500, ${format} output, no latency`,
      processes:
        'trigger = `node dist/main.js fetch_new_logs` (own process, FileCheckpointStore in a temp dir); simulator = a child process holding the backlog; intake stand-in = the bench process (counts, keeps nothing)',
      measure:
        'VmHWM of the trigger process (/proc/<pid>/status), read every 50 ms and when each milestone is reached',
      simulatorRssMiB: mib(main.simulatorRssBytes),
      simulatorGenerationMs: main.simulatorGeneratedMs,
      drainEventsPerSecond: round(median(main.results.map((r) => r.eventsPerSecond))),
      runs: runs(main.results),
      dense: {
        backlog: dense.counts,
        spread: `${denseSpanHours} h of logs (start_time ${denseSpanHours + 1}): the records per hour of ${label(REFERENCE.records)} over ${REFERENCE.spanHours} h`,
        drainEventsPerSecond: round(median(dense.results.map((r) => r.eventsPerSecond))),
        runs: runs(dense.results),
      },
    },
  };
}

interface Drained {
  counts: Record<StreamName, number>;
  results: DrainResult[];
  simulatorRssBytes: number;
  simulatorGeneratedMs: number;
}

/**
 * `options.runs` drains of one backlog (`records` over `spanHours`, ending 2 minutes ago; the
 * trigger starts an hour before it). Its simulator is stopped before the next backlog starts:
 * a 1M backlog's simulator holds ~1.7 GB.
 */
async function drainBacklog(
  options: MemoryOptions,
  spread: { records: number; spanHours: number },
  milestones: readonly number[],
  cpus: CpuPlan,
): Promise<Drained> {
  const { counts, simulator, intake } = await startBacklog({ ...spread, seed: 13 }, cpus);
  const results: DrainResult[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      results.push(
        await drain({
          simulator,
          intake,
          cpus,
          outputFormat: options.outputFormat ?? 'raw',
          logTypes: STREAM_NAMES,
          startTimeHours: spread.spanHours + 1,
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
  return {
    counts,
    results,
    simulatorRssBytes: simulator.rssBytes,
    simulatorGeneratedMs: simulator.generatedMs,
  };
}
