import { resolve } from 'node:path';
import {
  AuthenticationError,
  ConfigurationError,
  NetworkFailure,
  NO_RETRY,
  TransientError,
  createHttpClient,
  describeNetworkError,
  realSleep,
  silentLogger,
  systemClock,
} from '@sekoia/automation-sdk-shim';
import { KNOWN_REGIONS } from '../trigger_fetch_new_logs/service-url';
import { STREAMS, type StreamName } from '../trigger_fetch_new_logs/streams';
import { TmesClient } from '../trigger_fetch_new_logs/tmes-client';
import type { CommandLine } from './args';
import { PROGRAM, type CliIo, type Command } from './command';
import { loadConfigurationFile, type LoadedConfiguration } from './config-file';
import { EXIT, exitCodesHelp, type ExitCode } from './exit-codes';

/** How far back the one request per stream looks: enough to prove access, never a big page. */
const CHECK_WINDOW_MS = 5 * 60_000;

export const checkCommand: Command = {
  name: 'check',
  summary: 'Verify the credentials, the region and Log Retrieval of a tenant (--config FILE)',
  options: { config: 'string' },
  usage: `Usage: ${PROGRAM} check --config FILE

Verifies, before any collection, that the settings in FILE reach the tenant: the service URL
(region), the username and API key, and that Log Retrieval is enabled. One request per log
type (the last 5 minutes, 1 log at most); nothing is forwarded and no checkpoint is written.

  --config FILE   JSON with the settings of the trigger form (see config.example.json).
  -h, --help      Show this help.

The API key is never printed.

${exitCodesHelp(['ok', 'failed', 'usage', 'configuration'])}
`,
  execute,
};

type Outcome = { ok: true; logs: number } | { ok: false; problem: string };

async function execute(line: CommandLine, io: CliIo): Promise<ExitCode> {
  const configPath = resolve(io.cwd, line.requireString('config', 'FILE (the JSON settings of the trigger)'));
  let loaded: LoadedConfiguration;
  try {
    loaded = loadConfigurationFile(configPath, ['service_url', 'username', 'api_key']);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    io.stderr.write(`check: ${error.message}\n`);
    return EXIT.configuration;
  }
  const { settings, redactor } = loaded;
  const print = (text: string): void => {
    io.stdout.write(redactor.redact(text));
  };
  for (const warning of loaded.warnings) print(`Warning: ${warning}\n`);
  print(`Checking ${settings.baseUrl}${regionOf(settings.baseUrl)} as "${settings.username}":\n`);
  const client = new TmesClient({
    baseUrl: settings.baseUrl,
    username: settings.username,
    apiKey: settings.apiKey,
    http: createHttpClient({ timeoutMs: 20_000, userAgent: 'sekoiaio-trend-micro-email-security-check' }),
    clock: systemClock,
    sleep: realSleep,
    logger: silentLogger,
    // Exactly one request per stream (a negative deadline: no retry ever fits): a check reports
    // what it sees instead of waiting it out.
    policy: NO_RETRY,
  });
  const now = systemClock.now();
  const window = { start: now - CHECK_WINDOW_MS, end: now };
  const outcomes = await Promise.all(
    settings.streams.map(async (stream): Promise<[StreamName, Outcome]> => {
      try {
        const page = await client.fetchPage(
          STREAMS[stream],
          window,
          1,
          undefined,
          new AbortController().signal,
        );
        return [stream, { ok: true, logs: page.logs.length }];
      } catch (error) {
        return [stream, { ok: false, problem: explain(error, settings.baseUrl) }];
      }
    }),
  );
  const width = Math.max(...outcomes.map(([stream]) => stream.length));
  for (const [stream, outcome] of outcomes) {
    const label = stream.padEnd(width);
    print(
      outcome.ok
        ? `  ${label}  OK (${outcome.logs === 0 ? 'no log' : 'logs'} in the last 5 minutes)\n`
        : `  ${label}  FAILED: ${outcome.problem}\n`,
    );
  }
  const failed = outcomes.filter(([, outcome]) => !outcome.ok).length;
  if (failed === 0) {
    print(
      `All ${outcomes.length} log types answered. Start collecting with: ${PROGRAM} run --config ${line.string('config') ?? 'FILE'}\n`,
    );
    return EXIT.ok;
  }
  print(`${failed} of ${outcomes.length} log types failed.\n`);
  return EXIT.failed;
}

/** The problem in plain words, with the one thing to do about it. */
function explain(error: unknown, baseUrl: string): string {
  if (error instanceof AuthenticationError) {
    return 'the API refused the credentials. Check "username" (the Login ID of the console account that owns the key) and "api_key" (Administration > Service Integration > API Access).';
  }
  if (error instanceof ConfigurationError) {
    return 'the log API answered 404: Log Retrieval is not enabled for this account. Enable it under Administration > Service Integration > Log Retrieval; if it is, check that "service_url" is your region\'s API host.';
  }
  if (error instanceof TransientError && isNetworkFailure(error.cause)) {
    const host = new URL(baseUrl).host;
    return `cannot reach ${host} (${describeNetworkError(error.cause)}). Check "service_url": it must be the API host of your tenant's region (e.g. api.tmes.trendmicro.com, api.tmes.trendmicro.eu), and that this machine can reach it (proxy, firewall).`;
  }
  return `${error instanceof Error ? error.message : String(error)} Try again in a moment.`;
}

function isNetworkFailure(cause: unknown): boolean {
  return cause instanceof NetworkFailure;
}

function regionOf(baseUrl: string): string {
  const host = new URL(baseUrl).hostname.toLowerCase();
  const known = KNOWN_REGIONS.find((r) => r.host === host);
  return known === undefined ? '' : ` (${known.region})`;
}
