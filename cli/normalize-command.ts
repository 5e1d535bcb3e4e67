import { runNormalize } from '../trigger_fetch_new_logs/normalize-command';
import { PROGRAM, type CliIo, type Command } from './command';

export const normalizeCommand: Command = {
  name: 'normalize',
  summary: 'Turn TMES records on stdin into ECS documents on stdout',
  options: {},
  usage: `Usage: ${PROGRAM} normalize < records.json > documents.ndjson

Reads Trend Micro Email Security records on stdin (one JSON per line, a JSON array, or an API
page {"logs": [...]}) and writes one ECS document per line on stdout, with the same normaliser
as the trigger's "ecs" output format. Inputs that are not records are reported on stderr.

  -h, --help   Show this help.

Exit code 0 when every input was a record, 1 when some were skipped, 2 when nothing was JSON.
`,
  execute: (_line, io: CliIo) => runNormalize({ stdin: io.stdin, stdout: io.stdout, stderr: io.stderr }),
};
