import { startBacklog } from './backlog';
import { planCpus, type CpuPlan } from './cpu-pinning';
import { jsonRoundTripRate, type CpuLimit } from './cpu-limit';
import { pipelineCeilingRate } from './pipeline-ceiling';
import { drain, type DrainResult } from './drain';
import { figure, round, type BenchResult } from './stats';
import { STREAM_NAMES } from '../trigger_fetch_new_logs/streams';

export interface EndToEndOptions {
  records: number;
  runs: number;
}

/**
 * Simulator → trigger → intake stand-in over loopback, zero latency: how fast the real trigger
 * process drains a backlog, forwarding raw records and then ECS documents.
 */
export async function endToEnd(options: EndToEndOptions, cpus: CpuPlan = planCpus()): Promise<BenchResult> {
  const { counts, simulator, intake } = await startBacklog({ ...options, spanHours: 24, seed: 11 }, cpus);
  const results: Record<'raw' | 'ecs', DrainResult[]> = { raw: [], ecs: [] };
  const limits: CpuLimit[] = [];
  const ceilings: number[] = [];
  try {
    for (let run = 0; run < options.runs; run++) {
      // Measured next to each run, on the bench's core, with the same generator.
      limits.push(jsonRoundTripRate(11));
      ceilings.push(pipelineCeilingRate(11));
      for (const outputFormat of ['raw', 'ecs'] as const) {
        results[outputFormat].push(
          await drain({
            simulator,
            intake,
            cpus,
            outputFormat,
            logTypes: STREAM_NAMES,
            startTimeHours: 25,
            expected: simulator.stored,
            timeoutMs: 300_000,
          }),
        );
      }
    }
  } finally {
    await intake.stop();
    await simulator.stop();
  }
  const rate = (format: 'raw' | 'ecs'): number[] => results[format].map((r) => round(r.eventsPerSecond));
  // Events per second of the trigger's own CPU time: what its hot path costs, whatever share
  // of its core the machine's load left it.
  const perCpuSecond = (format: 'raw' | 'ecs'): number[] =>
    results[format].map((r) => (r.cpuSeconds > 0 ? r.events / r.cpuSeconds : Number.NaN));
  const ratio = (rates: number[], limit: (l: CpuLimit) => number): number[] =>
    rates.map((r, i) => {
      const l = limits[i];
      return round(l === undefined ? Number.NaN : r / limit(l), 2);
    });
  return {
    name: 'end-to-end',
    figures: [
      figure('end-to-end', 'simulator → trigger → intake, raw', 'events/s', rate('raw'), { value: 20_000 }),
      figure('end-to-end', 'simulator → trigger → intake, ecs', 'events/s', rate('ecs')),
      figure(
        'end-to-end',
        'JSON.parse + JSON.stringify of the same records (CPU limit)',
        'records/s',
        limits.map((l) => round(l.wall)),
      ),
      figure(
        'end-to-end',
        'raw ÷ CPU limit',
        '×',
        ratio(rate('raw'), (l) => l.wall),
        { value: 0.4 },
      ),
      figure(
        'end-to-end',
        'ecs ÷ CPU limit',
        '×',
        ratio(rate('ecs'), (l) => l.wall),
      ),
      figure(
        'end-to-end',
        'raw per trigger CPU-second ÷ CPU limit per CPU-second (load-independent)',
        '×',
        ratio(perCpuSecond('raw'), (l) => l.cpu),
        { value: 0.4 },
      ),
      figure(
        'end-to-end',
        'ecs per trigger CPU-second ÷ CPU limit per CPU-second',
        '×',
        ratio(perCpuSecond('ecs'), (l) => l.cpu),
      ),
      figure(
        'end-to-end',
        'ceiling: gunzip + parse + stringify + SHA-1 + body in memory, per CPU-second ÷ CPU limit per CPU-second',
        '×',
        ratio(ceilings, (l) => l.cpu),
      ),
    ],
    details: {
      backlog: counts,
      spread: '24 h of logs, 3 streams, page size 500, no latency',
      processes:
        'trigger = `node dist/main.js fetch_new_logs` (its own process, FileCheckpointStore in a temp dir); simulator = a child process; intake stand-in = the bench process',
      cpuPinning: cpus,
      cpuLimits: limits.map((l) => ({ wall: round(l.wall), perCpuSecond: round(l.cpu) })),
      pipelineCeilingPerCpuSecond: ceilings.map((c) => round(c)),
      runs: Object.fromEntries(
        (['raw', 'ecs'] as const).map((f) => [
          f,
          results[f].map((r) => ({
            eventsPerSecond: round(r.eventsPerSecond),
            wallMs: round(r.wallMs),
            steadyMs: round(r.steadyMs),
            triggerCpuShare: round(r.cpuShare, 2),
            triggerCpuSeconds: round(r.cpuSeconds, 2),
            peakRssMiB: round(r.peakRssBytes / 2 ** 20, 1),
            extra: r.extra,
            exitCode: r.exitCode,
          })),
        ]),
      ),
    },
  };
}
