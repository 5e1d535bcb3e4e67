#!/usr/bin/env node
/**
 * The one entry point. The Sekoia platform starts `node dist/main.js fetch_new_logs`; people
 * run the CLI commands (`run`, `check`, `normalize`, `demo`) from the same binary.
 */
import { Module } from '@sekoia/automation-sdk-shim';
import { runNormalize } from './trigger_fetch_new_logs/normalize-command';
import { FetchNewLogsTrigger } from './trigger_fetch_new_logs/trigger';

/** The module as the platform sees it: docker_parameters → trigger. */
export function createModule(options: ConstructorParameters<typeof Module>[0] = {}): Module {
  return new Module(options).register((m) => new FetchNewLogsTrigger({ module: m }), 'fetch_new_logs');
}

type Command = (args: readonly string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  normalize: () => runNormalize({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }),
};

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command !== undefined) return command(args);
  return createModule().run(argv);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Keep-alive sockets and unref'd timers must not hold the process once the work is done.
      setImmediate(() => process.exit(code));
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
