import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CpuPlan } from './cpu-pinning';
import { clockTicks } from './stats';

export const REPO_ROOT = resolve(__dirname, '../..');
const MAIN = join(REPO_ROOT, 'dist', 'main.js');
/**
 * The Node flags of the Docker image's ENTRYPOINT (keep both equal; tests/runtime-image.test.ts
 * checks it), measured on a 1M-record backlog (README, Performance):
 * - a 4 MiB young-generation semi-space: V8 collects the short-lived page and batch garbage
 *   sooner, at no throughput cost;
 * - old generation grown by 20 % of what a full GC leaves live (V8's own factor goes up to 4 ×
 *   on a machine with several GiB: a ~35 MiB live set let the heap reach 140 MiB before the next
 *   full GC). A growing factor, not a ceiling: a page or batch larger than usual makes the heap
 *   grow as much as it needs, it cannot run the process out of heap.
 */
export const PRODUCTION_NODE_ARGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=20',
];
/**
 * The environment of the Docker image (its ENV lines; keep both equal). glibc serves a freed
 * block of N bytes from its heap afterwards for every block up to N (its mmap threshold adapts,
 * up to 32 MiB): once an intake body of a few MiB was freed, bodies and response buffers came
 * from the heap, which fragments and is not given back (about 25 MiB of RSS). A fixed threshold
 * of 128 KiB (glibc's default start) keeps every large buffer in its own mapping, returned to
 * the system when freed.
 */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
const TAIL_LINES = 20;

export interface TriggerSpec {
  simulatorUrl: string;
  intakeUrl: string;
  outputFormat: 'raw' | 'ecs';
  logTypes: readonly string[];
  startTimeHours: number;
  /** More trigger settings (max_parallel_requests, for instance). */
  settings?: Record<string, unknown>;
}

export interface ProcessSample {
  /** Resident set size now (VmRSS) and its peak so far (VmHWM), bytes. */
  rss: number;
  hwm: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
}

/**
 * The trigger exactly as the platform starts it: `node dist/main.js fetch_new_logs`, working
 * directory the module root, configuration files in a volume directory, the checkpoint in a
 * data directory (FileCheckpointStore), logs on stdout (no logs URL). Only the ports are
 * ephemeral, so runs never collide. Its memory and CPU are read from /proc/<pid>.
 */
export class TriggerProcess {
  readonly child: ChildProcess;
  readonly startedAt = process.hrtime.bigint();
  readonly dataPath: string;
  private readonly volumePath: string;
  private readonly tail: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: string | null; at: bigint }>;
  private readonly ticks = clockTicks();
  private readonly logFile = process.env.BENCH_TRIGGER_LOG;

  constructor(spec: TriggerSpec, cpus: CpuPlan) {
    this.volumePath = mkdtempSync(join(tmpdir(), 'tmes-bench-volume-'));
    this.dataPath = mkdtempSync(join(tmpdir(), 'tmes-bench-data-'));
    const configuration = {
      service_url: spec.simulatorUrl,
      username: 'demo',
      api_key: 'demo-api-key',
      intake_key: 'BENCH-INTAKE-KEY',
      intake_server: spec.intakeUrl,
      log_types: spec.logTypes,
      start_time: spec.startTimeHours,
      output_format: spec.outputFormat,
      batch_size: 500,
      ...spec.settings,
    };
    writeFileSync(join(this.volumePath, 'trigger_configuration'), JSON.stringify(configuration));
    writeFileSync(join(this.volumePath, 'liveness_port'), '0');
    writeFileSync(join(this.volumePath, 'metrics_port'), '0');
    const [command, ...prefix]: string[] = [...cpus.triggerPrefix, process.execPath];
    // e.g. BENCH_TRIGGER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the time goes.
    const nodeArgs = (process.env.BENCH_TRIGGER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    this.child = spawn(
      command ?? process.execPath,
      [...prefix, ...PRODUCTION_NODE_ARGS, ...nodeArgs, MAIN, 'fetch_new_logs'],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ...PRODUCTION_ENV,
          SYMPHONY_VOLUME_PATH: this.volumePath,
          SYMPHONY_DATA_PATH: this.dataPath,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.keep(chunk);
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        resolve({ code, signal, at: process.hrtime.bigint() });
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`The trigger did not start: ${this.output()}`);
    return this.child.pid;
  }

  /** Memory and CPU of the trigger process now; undefined once it has exited. */
  sample(): ProcessSample | undefined {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / this.ticks;
      return { rss: kib(status, 'VmRSS'), hwm: kib(status, 'VmHWM'), cpuSeconds: cpu };
    } catch {
      return undefined;
    }
  }

  /** SIGTERM (what the platform sends), then the exit: code and when it happened. */
  async terminate(timeoutMs = 30_000): Promise<{ code: number | null; signal: string | null; at: bigint }> {
    this.child.kill('SIGTERM');
    return this.waitExit(timeoutMs);
  }

  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: string | null; at: bigint }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(
          new Error(`The trigger did not exit within ${timeoutMs} ms. Its last output:\n${this.output()}`),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The checkpoint document the trigger wrote, parsed (throws when absent or not JSON). */
  checkpoint(): unknown {
    return JSON.parse(readFileSync(join(this.dataPath, 'context.json'), 'utf8'));
  }

  /** The last lines the trigger printed, for error messages. */
  output(): string {
    return this.tail.join('\n');
  }

  /** Kills the process if it still runs and removes its directories. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.volumePath, { recursive: true, force: true });
    rmSync(this.dataPath, { recursive: true, force: true });
  }

  private keep(chunk: string): void {
    // BENCH_TRIGGER_LOG=file keeps everything the trigger printed (with --trace-gc, for instance).
    if (this.logFile !== undefined) appendFileSync(this.logFile, chunk);
    for (const line of chunk.split('\n')) if (line.trim() !== '') this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.splice(0, this.tail.length - TAIL_LINES);
  }
}

function kib(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match?.[1] === undefined ? Number.NaN : Number(match[1]) * 1024;
}
