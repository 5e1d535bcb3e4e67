/**
 * Every exit code of the command line, one meaning each. This table is the one place they are
 * defined: the commands return these, `--help` prints them, and the README's "Command line"
 * section holds the same table (a test compares the two). A script can tell "fix the command
 * line" from "fix the configuration file" from "the tenant or the input is the problem".
 *
 * 2 keeps the shell and Node convention for a usage error (the module's own unknown-command
 * exit is 2 too); 70 is sysexits' EX_SOFTWARE, for a bug rather than anything the user did.
 */
export const EXIT_CODES = {
  ok: { code: 0, meaning: 'Done: everything the command was asked to do was done.' },
  failed: {
    code: 1,
    meaning:
      'The command ran and its work failed: check found a log type that does not answer, run stopped on a fatal error (credentials refused, Log Retrieval disabled, unusable checkpoint), the demo output is incomplete.',
  },
  usage: {
    code: 2,
    meaning:
      'The command line is wrong (unknown command or option, missing or invalid value); the usage is printed.',
  },
  configuration: {
    code: 3,
    meaning:
      'The --config file cannot be used: missing, not JSON, or not a valid trigger configuration (every problem is listed).',
  },
  inputSkipped: {
    code: 4,
    meaning:
      'normalize: some inputs were not TMES records and were skipped (each named on stderr); the rest was written.',
  },
  inputUnreadable: {
    code: 5,
    meaning: 'normalize: stdin could not be read to its end, or nothing in it was JSON.',
  },
  internalError: {
    code: 70,
    meaning: 'An unexpected error (a bug): the message is printed; please report it.',
  },
} as const;

export type ExitMeaning = keyof typeof EXIT_CODES;

/** The code of each meaning, e.g. `EXIT.usage` (2). */
export const EXIT = Object.fromEntries(
  Object.entries(EXIT_CODES).map(([meaning, { code }]) => [meaning, code]),
) as { readonly [M in ExitMeaning]: (typeof EXIT_CODES)[M]['code'] };

export type ExitCode = (typeof EXIT)[ExitMeaning];

/** The `Exit codes:` block of a `--help` text, listing `meanings` (all of them by default). */
export function exitCodesHelp(meanings: readonly ExitMeaning[] = allMeanings()): string {
  const lines = meanings.map((m) =>
    wrap(EXIT_CODES[m].meaning, 90)
      .map((text, i) => `  ${i === 0 ? String(EXIT_CODES[m].code).padStart(2) : '  '}  ${text}`)
      .join('\n'),
  );
  return ['Exit codes:', ...lines].join('\n');
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** The README's exit-code table (Markdown), rendered from EXIT_CODES. */
export function exitCodesMarkdown(): string {
  return [
    '| Exit code | Meaning |',
    '| --- | --- |',
    ...allMeanings().map((m) => `| ${EXIT_CODES[m].code} | ${EXIT_CODES[m].meaning} |`),
  ].join('\n');
}

function allMeanings(): ExitMeaning[] {
  return Object.keys(EXIT_CODES) as ExitMeaning[];
}
