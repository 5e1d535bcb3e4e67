import { resolve } from 'node:path';
import { ConfigurationError, Module, StdoutLogger } from '@sekoia/automation-sdk-shim';
import { FetchNewLogsTrigger } from '../trigger_fetch_new_logs/trigger';
import type { CommandLine } from './args';
import { PROGRAM, type CliIo, type Command } from './command';
import { loadConfigurationFile, type LoadedConfiguration } from './config-file';
import { EXIT, exitCodesHelp, type ExitCode } from './exit-codes';
import { CriticalWatch } from './critical-watch';
import { InMemorySettings } from './in-memory-settings';
import { moduleRoot } from './module-root';

const PORT = { min: 0, max: 65_535 };

export const runCommand: Command = {
  name: 'run',
  summary: "Collect a real tenant's logs into a Sekoia.io intake (--config FILE)",
  options: { config: 'string', data: 'string', 'health-port': 'string', 'metrics-port': 'string' },
  usage: `Usage: ${PROGRAM} run --config FILE [--data DIR] [--health-port N] [--metrics-port N]

Runs the Fetch new logs trigger outside Sekoia.io, as the platform would: the three log
streams of a Trend Micro Email Security tenant, pushed to the intake named by "intake_server".

  --config FILE        JSON with the settings of the trigger form (see config.example.json):
                       service_url, username, api_key, intake_key and the optional ones.
  --data DIR           Where the checkpoint (context.json) is kept. Default: ./.data
                       Run again with the same DIR to resume where it stopped.
  --health-port N      Serve GET /health on port N (off by default).
  --metrics-port N     Serve the Prometheus metrics on port N (off by default).
  -h, --help           Show this help.

Logs go to stdout, one JSON object per line; keys are never printed. Ctrl-C stops gracefully:
deliveries in flight finish and the checkpoint is saved. A fatal problem (credentials refused,
Log Retrieval disabled) ends the command; "${PROGRAM} check --config FILE" tests the
credentials without collecting anything.

${exitCodesHelp(['ok', 'failed', 'usage', 'configuration'])}
`,
  execute,
};

async function execute(line: CommandLine, io: CliIo): Promise<ExitCode> {
  const configPath = resolve(io.cwd, line.requireString('config', 'FILE (the JSON settings of the trigger)'));
  const dataPath = resolve(io.cwd, line.string('data') ?? '.data');
  const healthPort = line.integer('health-port', PORT);
  const metricsPort = line.integer('metrics-port', PORT);
  let loaded: LoadedConfiguration;
  try {
    loaded = loadConfigurationFile(configPath, ['service_url', 'username', 'api_key', 'intake_key']);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    io.stderr.write(`run: ${error.message}\n`);
    return EXIT.configuration;
  }
  const logger = new CriticalWatch(new StdoutLogger({ write: (text) => io.stdout.write(text) }), () => {
    trigger.stop();
  });
  const module = new Module({
    cwd: moduleRoot(),
    loader: new InMemorySettings({ trigger_configuration: loaded.raw }, dataPath),
    logger,
  });
  const trigger = new FetchNewLogsTrigger({
    module,
    logger,
    signals: io.signals,
    healthPort: healthPort ?? false,
    metricsPort: metricsPort ?? false,
  });
  const { settings, configuration } = loaded;
  io.stderr.write(
    loaded.redactor.redact(
      `Collecting ${settings.streams.join(', ')} from ${settings.baseUrl} into ${configuration.intake_server ?? 'the default intake'}; ` +
        `checkpoint in ${trigger.store.describe()}. Ctrl-C stops.\n`,
    ),
  );
  await trigger.execute();
  if (logger.critical === undefined) return EXIT.ok;
  io.stderr.write(
    `run: stopped on a fatal error (the critical line above says why). Fix it, then run again; "${PROGRAM} check --config FILE" tests the credentials.\n`,
  );
  return EXIT.failed;
}
