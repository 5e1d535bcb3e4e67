import { planCpus, pin, type CpuPlan } from './cpu-pinning';
import { drain, type DrainResult } from './drain';
import { IntakeCounter } from './intake-counter';
import { SimulatorProcess } from './simulator-process';
import { figure, median, round, type BenchResult } from './stats';

const HOUR = 3_600_000;
const PAGE = 500;

export interface CatchUpOptions {
  records: number;
  latencyMs: number;
  /** max_parallel_requests for the catch-up runs. */
  parallel: number;
  /** The rate-limited run: requests per second the tenant allows (below what `parallel` would send). */
  requestsPerSecond: number;
  rateLimitedRecords: number;
  runs: number;
}

/**
 * One stream catching up on a backlog through a slow API (every page takes `latencyMs`): its
 * rate divided by what sequential pages allow (500 records per page time) is the figure that
 * survives a noisy machine. Then the same through a tenant rate limit below what K windows would
 * send: the adaptive concurrency must settle with few requests answered 429.
 */
export async function catchUp(options: CatchUpOptions, cpus: CpuPlan = planCpus()): Promise<BenchResult> {
  pin(process.pid, cpus.orchestrator, cpus);
  const sequentialLimit = PAGE / (options.latencyMs / 1000);
  const counts = { accepted_traffic: options.records, blocked_traffic: 0, policy_events: 0 };
  const intake = new IntakeCounter();
  await intake.start();
  const base = {
    intake,
    cpus,
    outputFormat: 'raw' as const,
    logTypes: ['accepted_traffic'],
    startTimeHours: 25,
    timeoutMs: 600_000,
    settings: { max_parallel_requests: options.parallel },
  };
  const fast: DrainResult[] = [];
  const limited: { result: DrainResult; requests: number; rateLimited: number }[] = [];
  const slow = await SimulatorProcess.start(
    { counts, spanMs: 24 * HOUR, endAgoMs: 2 * 60_000, seed: 23, latencyMs: options.latencyMs },
    cpus,
  );
  try {
    for (let run = 0; run < options.runs; run++) {
      fast.push(await drain({ ...base, simulator: slow, expected: options.records }));
    }
  } finally {
    await slow.stop();
  }
  const throttled = await SimulatorProcess.start(
    {
      counts: { ...counts, accepted_traffic: options.rateLimitedRecords },
      spanMs: 24 * HOUR,
      endAgoMs: 2 * 60_000,
      seed: 29,
      latencyMs: options.latencyMs,
      rateLimit: { requestsPerSecond: options.requestsPerSecond, retryAfterSeconds: 1 },
    },
    cpus,
  );
  try {
    for (let run = 0; run < options.runs; run++) {
      const before = await throttled.stats();
      const result = await drain({ ...base, simulator: throttled, expected: options.rateLimitedRecords });
      const after = await throttled.stats();
      limited.push({
        result,
        requests: after.requests - before.requests,
        rateLimited: after.rateLimited - before.rateLimited,
      });
    }
  } finally {
    await throttled.stop();
    await intake.stop();
  }
  const rates = fast.map((r) => round(r.eventsPerSecond));
  const shares = limited.map((l) => round((100 * l.rateLimited) / Math.max(1, l.requests), 2));
  return {
    name: 'catch-up',
    figures: [
      figure(
        'catch-up',
        `one stream, ${options.latencyMs} ms pages, max_parallel_requests ${options.parallel}`,
        'events/s',
        rates,
      ),
      figure(
        'catch-up',
        `same ÷ sequential API limit (${PAGE} / ${options.latencyMs / 1000} s = ${round(sequentialLimit)} events/s)`,
        '×',
        rates.map((r) => round(r / sequentialLimit, 2)),
        { value: 4 },
      ),
      figure(
        'catch-up',
        `rate limit ${options.requestsPerSecond} requests/s (K=${options.parallel} would send ${round((options.parallel * 1000) / options.latencyMs, 1)}/s): requests answered 429`,
        '%',
        shares,
        { value: 5, atMost: true },
      ),
      figure(
        'catch-up',
        `rate-limited catch-up ÷ the limit's ${options.requestsPerSecond * PAGE} events/s`,
        '×',
        limited.map((l) => round(l.result.eventsPerSecond / (options.requestsPerSecond * PAGE), 2)),
      ),
    ],
    details: {
      backlog: counts,
      rateLimitedBacklog: options.rateLimitedRecords,
      spread: `24 h of logs, one stream, page size ${PAGE}, simulator latency ${options.latencyMs} ms per request, raw output, max_parallel_requests ${options.parallel}`,
      medianWallMs: round(median(fast.map((r) => r.wallMs))),
      rateLimitedRuns: limited.map((l) => ({
        eventsPerSecond: round(l.result.eventsPerSecond),
        requests: l.requests,
        rateLimited: l.rateLimited,
        extra: l.result.extra,
      })),
      runs: fast.map((r) => ({
        eventsPerSecond: round(r.eventsPerSecond),
        wallMs: round(r.wallMs),
        extra: r.extra,
      })),
    },
  };
}
