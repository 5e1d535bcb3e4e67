import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

/** One line of the results table: a figure (the median of `runs`) and the floor it must meet. */
export interface Figure {
  benchmark: string;
  label: string;
  unit: string;
  /** Median of `runs`. */
  value: number;
  runs: number[];
  /** The floor the figure must meet, and in which direction. */
  floor?: { value: number; atMost?: boolean };
  pass?: boolean;
}

export interface BenchResult {
  name: string;
  figures: Figure[];
  /** What the figures depend on and how they were taken (process layout, sizes, settings). */
  details: Record<string, unknown>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** A figure from its runs, judged against its floor. */
export function figure(
  benchmark: string,
  label: string,
  unit: string,
  runs: readonly number[],
  floor?: { value: number; atMost?: boolean },
): Figure {
  const value = median(runs);
  const out: Figure = { benchmark, label, unit, value, runs: [...runs] };
  if (floor !== undefined) {
    out.floor = floor;
    out.pass = floor.atMost === true ? value < floor.value : value >= floor.value;
  }
  return out;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  date: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

/** Clock ticks per second of /proc/<pid>/stat CPU times. */
export function clockTicks(): number {
  try {
    const ticks = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }), 10);
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export const MiB = 2 ** 20;

export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Milliseconds since `start` (a process.hrtime.bigint() value). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}
