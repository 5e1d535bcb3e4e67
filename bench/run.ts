/**
 * `npm run bench`: every benchmark, or those named on the command line
 * (`node dist/bench/run.js normaliser stop`). Prints a table and writes bench/results.json;
 * figures are medians of several runs. Benchmarks use real time and 127.0.0.1 only, and are
 * never part of `npm test`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../trigger_fetch_new_logs/stream-collector';
import { catchUp } from './catch-up';
import { concurrency } from './concurrency';
import { planCpus } from './cpu-pinning';
import { endToEnd } from './end-to-end';
import { memory } from './memory';
import { normalizer } from './normalizer';
import { machine, type BenchResult, type Figure } from './stats';
import { stop } from './stop';
import { REPO_ROOT } from './trigger-process';

const RESULTS = join(REPO_ROOT, 'bench', 'results.json');

const BENCHMARKS: Readonly<Record<string, () => Promise<BenchResult>>> = {
  normaliser: () => Promise.resolve(normalizer({ records: 50_000, runs: 5 })),
  'end-to-end': () => endToEnd({ records: 300_000, runs: 3 }),
  memory: () => memory({ records: memoryRecords(), runs: 3 }),
  'memory-ecs': () => memory({ records: memoryRecords(), runs: 3, outputFormat: 'ecs' }),
  concurrency: () => concurrency({ perStream: 10_000, latencyMs: 200, runs: 3 }),
  stop: () => stop({ records: 300_000, stopAfter: 40_000, runs: 5 }),
  'catch-up': () =>
    catchUp({
      records: 200_000,
      latencyMs: 300,
      parallel: 8,
      requestsPerSecond: 10,
      rateLimitedRecords: 100_000,
      runs: 3,
    }),
};

/** BENCH_MEMORY_RECORDS=100000 measures a smaller backlog (flatness from 100k to 1M). */
function memoryRecords(): number {
  const records = Number(process.env.BENCH_MEMORY_RECORDS ?? 1_000_000);
  if (!Number.isInteger(records) || records < 1000)
    throw new RangeError(
      `BENCH_MEMORY_RECORDS must be a whole number ≥ 1000 (got ${process.env.BENCH_MEMORY_RECORDS})`,
    );
  return records;
}

interface ResultsFile {
  machine: ReturnType<typeof machine>;
  cpuPinning: ReturnType<typeof planCpus>;
  collectorLimits: typeof DEFAULT_LIMITS;
  command: string;
  benchmarks: Record<string, BenchResult>;
}

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(
      `Unknown benchmark ${unknown.join(', ')}. Known: ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    return 2;
  }
  const names = argv.length > 0 ? argv : Object.keys(BENCHMARKS);
  const host = machine();
  process.stdout.write(
    `${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}\n`,
  );
  const results: Record<string, BenchResult> = {};
  for (const name of names) {
    const run = BENCHMARKS[name];
    if (run === undefined) continue;
    process.stdout.write(`${name}…\n`);
    const started = Date.now();
    results[name] = await run();
    process.stdout.write(`${name} done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  }
  // A partial run updates its benchmarks and keeps the others' last figures.
  const previous = readPrevious();
  const file: ResultsFile = {
    machine: host,
    cpuPinning: planCpus(),
    collectorLimits: DEFAULT_LIMITS,
    command: 'npm run bench',
    benchmarks: { ...previous, ...results },
  };
  writeFileSync(RESULTS, `${JSON.stringify(file, null, 2)}\n`);
  const figures = Object.values(results).flatMap((r) => r.figures);
  process.stdout.write(`\n${table(figures)}\nWritten to ${RESULTS}\n`);
  // Floors not met are printed (table, "Met" column); the bench itself succeeded.
  return 0;
}

function readPrevious(): Record<string, BenchResult> {
  if (!existsSync(RESULTS)) return {};
  try {
    return (JSON.parse(readFileSync(RESULTS, 'utf8')) as Partial<ResultsFile>).benchmarks ?? {};
  } catch {
    return {};
  }
}

/** A Markdown table: it reads well in a terminal and pastes into the README as is. */
export function table(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.benchmark,
    f.label,
    `${format(f.value)} ${f.unit}`,
    f.runs.map(format).join(' / '),
    f.floor === undefined ? '' : `${f.floor.atMost === true ? '<' : '≥'} ${format(f.floor.value)} ${f.unit}`,
    f.pass === undefined ? '' : f.pass ? 'met' : '**not met**',
  ]);
  const header = ['Benchmark', 'Figure', 'Median', 'Runs', 'Floor', 'Met'];
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  return lines.join('\n');
}

function format(value: number): string {
  return Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`The benchmark failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
