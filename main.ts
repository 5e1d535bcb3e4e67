#!/usr/bin/env node
/**
 * The one entry point. The Sekoia platform starts `node dist/main.js fetch_new_logs`; people
 * run the CLI commands (`run`, `check`, `normalize`, `demo`) from the same binary.
 */
import { Module } from '@sekoia/automation-sdk-shim';
import { findCommand, reportCrash, runCli, type CliIo } from './cli';
import { FetchNewLogsTrigger } from './trigger_fetch_new_logs/trigger';

/** The module as the platform sees it: docker_parameters → trigger. */
function createModule(options: ConstructorParameters<typeof Module>[0] = {}): Module {
  return new Module(options).register((m) => new FetchNewLogsTrigger({ module: m }), 'fetch_new_logs');
}

function processIo(): CliIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signals: process,
    cwd: process.cwd(),
  };
}

/** A CLI command (demo, check, run, normalize, --help), else an item of the module (the platform's). */
export async function main(argv: readonly string[]): Promise<number> {
  const [name] = argv;
  if (name === undefined || name.startsWith('-') || findCommand(name) !== undefined)
    return runCli(argv, processIo());
  const platform = createModule();
  if (platform.commands().includes(name)) return platform.run(argv);
  return runCli(argv, processIo()); // an unknown command: the usage, listing every command
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Keep-alive sockets and unref'd timers must not hold the process once the work is done.
      setImmediate(() => process.exit(code));
    },
    (error: unknown) => {
      process.exit(reportCrash(error, process.stderr));
    },
  );
}
