import { parseArgs } from 'node:util';

/** The command line is wrong: the command prints its usage and exits with EXIT.usage. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'string' | 'boolean';

/** Long option name (without `--`) → its kind. `--help` / `-h` is added to every command. */
export type OptionSpec = Readonly<Record<string, OptionKind>>;

/**
 * Parsed options of one command: unknown options, missing values and stray arguments are
 * usage errors, never silently ignored (a typo in `--config` must not run with defaults).
 */
export class CommandLine {
  private constructor(private readonly values: Readonly<Record<string, string | boolean | undefined>>) {}

  static parse(args: readonly string[], spec: OptionSpec): CommandLine {
    const options: Record<string, { type: OptionKind; short?: string }> = {
      help: { type: 'boolean', short: 'h' },
    };
    for (const [name, type] of Object.entries(spec)) options[name] = { type };
    try {
      const { values } = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
      return new CommandLine(values);
    } catch (error) {
      throw new UsageError(describeParseError(error), { cause: error });
    }
  }

  get help(): boolean {
    return this.values.help === true;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || typeof value === 'boolean') return undefined;
    if (value.trim() === '') throw new UsageError(`--${name} needs a value.`);
    return value;
  }

  requireString(name: string, what: string): string {
    const value = this.string(name);
    if (value === undefined) throw new UsageError(`--${name} ${what} is required.`);
    return value;
  }

  /** An integer option within [min, max], or `fallback` when absent. */
  integer(name: string, range: { min: number; max: number }, fallback: number): number;
  integer(name: string, range: { min: number; max: number }): number | undefined;
  integer(name: string, range: { min: number; max: number }, fallback?: number): number | undefined {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = Number(text.trim());
    if (
      !/^\d+$/.test(text.trim()) ||
      !Number.isSafeInteger(value) ||
      value < range.min ||
      value > range.max
    ) {
      throw new UsageError(`--${name} must be a whole number from ${range.min} to ${range.max}.`);
    }
    return value;
  }
}

/** Node's parseArgs message, first sentence only (the rest is advice about `--`). */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = message.split(/\.(?:\s|$)/)[0] ?? message;
  return `${first.replace(/'([^']*)'/g, '$1')}.`;
}
