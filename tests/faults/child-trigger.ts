import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../integration/harness';

export const MAIN_JS = join(REPO_ROOT, 'dist', 'main.js');

/** `node dist/main.js fetch_new_logs` as the platform starts it, with its output kept. */
export interface ChildTrigger {
  readonly process: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code, or the signal name when killed. */
  readonly exited: Promise<number | string>;
}

export interface ChildTriggerOptions {
  configuration: Record<string, unknown>;
  dataPath: string;
  /** Extra platform settings as environment variables (URL_LOGS, TOKEN, …). */
  env?: Record<string, string>;
}

/**
 * Starts the trigger in a child process: configuration in TRIGGER_CONFIGURATION, an empty
 * volume (so nothing is read from /symphony), ephemeral health and metrics ports, and only the
 * environment given here (no inherited settings).
 */
export function spawnTrigger(options: ChildTriggerOptions): ChildTrigger {
  if (!existsSync(MAIN_JS))
    throw new Error(`${MAIN_JS} is missing: run "npm run build" (npm test does it first).`);
  const child = spawn(process.execPath, [MAIN_JS, 'fetch_new_logs'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      TRIGGER_CONFIGURATION: JSON.stringify(options.configuration),
      SYMPHONY_VOLUME_PATH: mkdtempSync(join(tmpdir(), 'tmes-child-volume-')),
      SYMPHONY_DATA_PATH: options.dataPath,
      LIVENESS_PORT: '0',
      METRICS_PORT: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => chunks.push(chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    });
  });
  return { process: child, output: () => chunks.join(''), exited };
}

/** Sends SIGTERM and waits (bounded) for the exit; SIGKILLs a child that does not stop. */
export async function stopChild(child: ChildTrigger, timeoutMs = 10_000): Promise<number | string> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return child.exited;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (real time, bounded) until `condition` holds. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
