import { CommandLine, UsageError, type OptionSpec } from './args';
import { EXIT, type ExitCode } from './exit-codes';

/** Where a command writes; process.stdout / process.stderr in production. */
export interface Output extends NodeJS.WritableStream {
  isTTY?: boolean;
  columns?: number;
}

/** Everything a command touches outside itself, injected so tests can run it in-process. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: Output;
  stderr: Output;
  /** Where SIGINT / SIGTERM come from (process). */
  signals: NodeJS.EventEmitter;
  /** Relative paths in options are resolved against this. */
  cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The full `--help` text. */
  readonly usage: string;
  readonly options: OptionSpec;
  execute(line: CommandLine, io: CliIo): Promise<ExitCode>;
}

export const PROGRAM = 'node dist/main.js';

/** Parses the options, answers --help, and turns usage errors into EXIT.usage with the usage. */
export async function invokeCommand(command: Command, args: readonly string[], io: CliIo): Promise<ExitCode> {
  try {
    const line = CommandLine.parse(args, command.options);
    if (line.help) {
      io.stdout.write(command.usage);
      return EXIT.ok;
    }
    return await command.execute(line, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${command.name}: ${error.message}\n\n${command.usage}`);
    return EXIT.usage;
  }
}
