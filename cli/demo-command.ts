import { resolve } from 'node:path';
import type { CommandLine } from './args';
import { PROGRAM, type CliIo, type Command } from './command';
import { DemoRun } from './demo-run';
import { exitCodesHelp, type ExitCode } from './exit-codes';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Run the trigger against the embedded simulator and a local intake (npm start)',
  options: { records: 'string', live: 'string', latency: 'string', faults: 'boolean', out: 'string' },
  usage: `Usage: ${PROGRAM} demo [--records N] [--live SECONDS] [--latency MS] [--faults] [--out DIR]

Runs the real Fetch new logs trigger, in this process, against a simulated Trend Micro Email
Security tenant (the last two hours of mail, plus new mail arriving live) and a local Sekoia.io
intake that writes what it receives to DIR. Shows the progress per log type, stops once the
backlog is caught up and the live period is over (or on Ctrl-C), checks the output against the
simulator and prints a summary. No account and no network access needed.

  --records N        Logs in the two-hour backlog, across the three log types. Default: 3000
  --live SECONDS     How long to keep collecting live traffic once caught up. Default: 20
  --latency MS       Delay of each simulated API request. Default: 20
  --faults           Make the simulated API fail now and then (HTTP 429 and 500, dropped
                     connections), to watch the trigger retry without losing or repeating logs.
  --out DIR          Where the intake writes. Default: ./out
                     (<log type>.ndjson raw, <log type>.ecs.ndjson normalised, summary.json,
                     trigger.log; files of an earlier demo are replaced, nothing else is touched)
  -h, --help         Show this help.

${exitCodesHelp(['ok', 'failed', 'usage'])}
`,
  execute,
};

async function execute(line: CommandLine, io: CliIo): Promise<ExitCode> {
  const demo = new DemoRun(
    {
      records: line.integer('records', { min: 0, max: 1_000_000 }, 3_000),
      liveSeconds: line.integer('live', { min: 0, max: 3_600 }, 20),
      latencyMs: line.integer('latency', { min: 0, max: 10_000 }, 20),
      faults: line.flag('faults'),
      outDir: resolve(io.cwd, line.string('out') ?? 'out'),
    },
    io,
  );
  return demo.run();
}
