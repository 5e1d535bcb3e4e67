import { planCpus, pin, type CpuPlan } from './cpu-pinning';
import { drain, type DrainResult } from './drain';
import { IntakeCounter } from './intake-counter';
import { SimulatorProcess } from './simulator-process';
import { figure, median, round, type BenchResult } from './stats';
import { STREAM_NAMES, type StreamName } from '../trigger_fetch_new_logs/streams';

const HOUR = 3_600_000;

export interface ConcurrencyOptions {
  /** Records per stream (the same for each, so one stream is a third of the work). */
  perStream: number;
  latencyMs: number;
  runs: number;
}

/**
 * With a slow API (every page takes `latencyMs`), collection is bound by waiting, not CPU:
 * the three streams must wait side by side. Aggregate events/s with three streams against
 * one stream alone, same records per stream.
 */
export async function concurrency(
  options: ConcurrencyOptions,
  cpus: CpuPlan = planCpus(),
): Promise<BenchResult> {
  pin(process.pid, cpus.orchestrator, cpus);
  const counts = Object.fromEntries(STREAM_NAMES.map((stream) => [stream, options.perStream])) as Record<
    StreamName,
    number
  >;
  const simulator = await SimulatorProcess.start(
    { counts, spanMs: 6 * HOUR, endAgoMs: 2 * 60_000, seed: 17, latencyMs: options.latencyMs },
    cpus,
  );
  const intake = new IntakeCounter();
  await intake.start();
  const one: DrainResult[] = [];
  const three: DrainResult[] = [];
  const base = {
    simulator,
    intake,
    cpus,
    outputFormat: 'raw' as const,
    startTimeHours: 7,
    timeoutMs: 300_000,
  };
  try {
    for (let run = 0; run < options.runs; run++) {
      one.push(await drain({ ...base, logTypes: ['accepted_traffic'], expected: options.perStream }));
      three.push(await drain({ ...base, logTypes: STREAM_NAMES, expected: options.perStream * 3 }));
    }
  } finally {
    await intake.stop();
    await simulator.stop();
  }
  const rates = (results: DrainResult[]): number[] => results.map((r) => round(r.eventsPerSecond));
  const ratios = three.map((r, i) => round(r.eventsPerSecond / (one[i]?.eventsPerSecond ?? Number.NaN), 2));
  return {
    name: 'concurrency',
    figures: [
      figure('concurrency', `one stream, ${options.latencyMs} ms per page`, 'events/s', rates(one)),
      figure('concurrency', `three streams, ${options.latencyMs} ms per page`, 'events/s', rates(three)),
      figure('concurrency', 'three streams ÷ one stream', '×', ratios, { value: 2.5 }),
    ],
    details: {
      backlog: counts,
      spread: `6 h of logs per stream, page size 500, simulator latency ${options.latencyMs} ms per request, raw output`,
      processes:
        'as end-to-end: trigger = `node dist/main.js fetch_new_logs`; simulator = child process; intake = bench process',
      medianWallMs: {
        one: round(median(one.map((r) => r.wallMs))),
        three: round(median(three.map((r) => r.wallMs))),
      },
    },
  };
}
