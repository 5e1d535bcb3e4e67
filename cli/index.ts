import { PROGRAM, invokeCommand, type CliIo, type Command } from './command';
import { checkCommand } from './check-command';
import { demoCommand } from './demo-command';
import { EXIT, exitCodesHelp, type ExitCode } from './exit-codes';
import { normalizeCommand } from './normalize-command';
import { runCommand } from './run-command';

export type { CliIo } from './command';
export { EXIT, type ExitCode } from './exit-codes';

/** The commands people type, in the order the usage lists them. */
const CLI_COMMANDS: readonly Command[] = [demoCommand, checkCommand, runCommand, normalizeCommand];

/** What the platform starts; listed so nobody wonders what it is, never run from here. */
const PLATFORM_ENTRY = {
  name: 'fetch_new_logs',
  summary: 'The trigger as the Sekoia.io platform starts it (settings from /symphony)',
};

export function findCommand(name: string | undefined): Command | undefined {
  return CLI_COMMANDS.find((command) => command.name === name);
}

export function usage(): string {
  const entries = [...CLI_COMMANDS, PLATFORM_ENTRY];
  const width = Math.max(...entries.map((e) => e.name.length));
  return [
    'Trend Micro Email Security for Sekoia.io',
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...entries.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`),
    '',
    `"${PROGRAM} <command> --help" describes a command. First time? Run "npm start" (the demo).`,
    '',
    exitCodesHelp(),
    '',
  ].join('\n');
}

/**
 * A CLI command by name, the usage for `--help`, or a usage error listing the commands.
 * `isPlatformCommand` names are left to the caller (the module runs them).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  const command = findCommand(name);
  if (command !== undefined) return invokeCommand(command, args, io);
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  io.stderr.write(`${name === undefined ? 'No command given.' : `Unknown command "${name}".`}\n\n${usage()}`);
  return EXIT.usage;
}

/**
 * What the process does with an error no command handled (a bug): prints its message, never a
 * stack full of internals, and answers EXIT.internalError.
 */
export function reportCrash(error: unknown, stderr: NodeJS.WritableStream): ExitCode {
  stderr.write(`Unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.internalError;
}
