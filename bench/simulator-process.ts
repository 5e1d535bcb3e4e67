import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SimulatorReport, SimulatorSpec } from './child-simulator';
import { pin, type CpuPlan } from './cpu-pinning';

/** Generating a million records takes ~15 s; anything far beyond that is a hang. */
const READY_TIMEOUT_MS = 180_000;

/** The parent's handle on a simulator running in child-simulator.js. */
export class SimulatorProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly stored: number,
    readonly generatedMs: number,
    readonly rssBytes: number,
  ) {}

  static async start(spec: SimulatorSpec, cpus: CpuPlan): Promise<SimulatorProcess> {
    const child = fork(join(__dirname, 'child-simulator.js'), [JSON.stringify(spec)], {
      // A million stored records need more than the default old-space limit.
      execArgv: ['--max-old-space-size=8192'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    if (child.pid !== undefined) pin(child.pid, cpus.simulator, cpus);
    try {
      const report = await ready(child, READY_TIMEOUT_MS);
      return new SimulatorProcess(child, report.url, report.stored, report.generatedMs, report.rssBytes);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  /** Requests served so far, and how many were answered 429 by the rate limit. */
  stats(): Promise<{ requests: number; rateLimited: number }> {
    return new Promise((resolve) => {
      const onMessage = (report: SimulatorReport): void => {
        if (report.type !== 'stats') return;
        this.child.off('message', onMessage);
        resolve({ requests: report.requests, rateLimited: report.rateLimited });
      };
      this.child.on('message', onMessage);
      this.child.send('stats');
    });
  }

  /** Stops the simulator and waits for its process to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
    });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    this.child.disconnect();
    await exited;
    clearTimeout(timer);
  }
}

type Ready = Extract<SimulatorReport, { type: 'ready' }>;

/** The child's "ready" report, or why it never came. */
function ready(child: ChildProcess, timeoutMs: number): Promise<Ready> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (report: SimulatorReport): void => {
      if (report.type === 'stats') return;
      cleanup();
      if (report.type === 'ready') resolve(report);
      else reject(new Error(`The simulator process failed: ${report.message}`));
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`The simulator process exited (code ${code}, signal ${signal}) before it was ready.`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`The simulator process was not ready within ${timeoutMs} ms.`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
