import { once } from 'node:events';
import { normalize } from '../trigger_fetch_new_logs/normalizer';
import { PROGRAM, type CliIo, type Command } from './command';
import { EXIT, exitCodesHelp, type ExitCode } from './exit-codes';
import { readInput, UnreadableInputError } from './normalize-input';

export const normalizeCommand: Command = {
  name: 'normalize',
  summary: 'Turn TMES records on stdin into ECS documents on stdout',
  options: {},
  usage: `Usage: ${PROGRAM} normalize < records.json > documents.ndjson

Reads Trend Micro Email Security records on stdin (one JSON per line, a JSON array, or an API
page {"logs": [...]}) and writes one ECS document per line on stdout, with the same normaliser
as the trigger's "ecs" output format. Inputs that are not records are reported on stderr.

  -h, --help   Show this help.

${exitCodesHelp(['ok', 'usage', 'inputSkipped', 'inputUnreadable'])}
`,
  execute: (_line, io: CliIo) => runNormalize({ stdin: io.stdin, stdout: io.stdout, stderr: io.stderr }),
};

/** The streams `normalize` uses (a subset of CliIo, so tests can pass plain streams). */
export interface NormalizeIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** TMES records on stdin → one ECS document per line on stdout; problems on stderr, in input order. */
export async function runNormalize(io: NormalizeIo): Promise<ExitCode> {
  const out = new LineWriter(io.stdout);
  const counts = { records: 0, rejected: 0, notJson: 0 };
  try {
    for await (const item of readInput(io.stdin)) {
      if (item.kind === 'record') {
        counts.records++;
        await out.push(JSON.stringify(normalize(item.record)));
        continue;
      }
      counts.rejected++;
      if (item.notJson) counts.notJson++;
      await out.flush(); // keep stdout and stderr in input order for a reader watching both
      await writeText(io.stderr, `normalize: ${item.where}: ${item.reason}; skipped.\n`);
    }
  } catch (error) {
    if (!(error instanceof UnreadableInputError)) throw error;
    await out.flush();
    await writeText(io.stderr, `normalize: ${error.message}\n`);
    return EXIT.inputUnreadable;
  }
  await out.flush();
  if (counts.rejected === 0) return EXIT.ok;
  await writeText(
    io.stderr,
    `normalize: ${counts.records} record(s) normalised, ${counts.rejected} input(s) skipped. ` +
      'Give one JSON record per line, a JSON array of records, or an API page {"logs": [...]}.\n',
  );
  return counts.notJson === counts.rejected && counts.records === 0
    ? EXIT.inputUnreadable
    : EXIT.inputSkipped;
}

/** Batches output lines into large writes and waits for 'drain' when the reader is slow. */
class LineWriter {
  private buffer: string[] = [];
  private size = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly highWaterMark = 64 * 1024,
  ) {}

  async push(line: string): Promise<void> {
    this.buffer.push(line);
    this.size += line.length + 1;
    if (this.size >= this.highWaterMark) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.size = 0;
    await writeText(this.stream, text);
  }
}

async function writeText(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}
