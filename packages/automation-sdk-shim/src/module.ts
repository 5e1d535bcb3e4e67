import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigLoader } from './config';
import { ConfigurationError, describeError } from './errors';
import { createHttpClient, type HttpClient } from './http';
import { StdoutLogger, type Logger } from './logger';
import { fetchModuleSecrets } from './secrets';
import { realSleep, systemClock, type Clock, type Sleep } from './time';
import { ConfigurationValidator, type ConfigurationSchema } from './validation';

/** What a registered item (trigger, connector) does once started; resolves to the exit code. */
export interface Runnable {
  execute(): Promise<number>;
}

export type ItemFactory = (module: Module) => Runnable;

export interface ModuleOptions {
  /** Where manifest.json is; default process.cwd() (the platform starts us in the module root). */
  cwd?: string;
  loader?: ConfigLoader;
  logger?: Logger;
  http?: HttpClient;
  clock?: Clock;
  sleep?: Sleep;
  /** Where usage errors go; default process.stderr. */
  stderr?: (text: string) => void;
}

/** Exit code for a command line the module does not understand (as sysexits' EX_USAGE family). */
const EXIT_USAGE = 2;

/**
 * The module as the platform starts it: one argument, an item's `docker_parameters`, mapped to
 * the factory registered for it. Also the module-level settings every item shares (manifest,
 * module configuration with its secrets, token and platform URLs). Knows nothing about what
 * the items do.
 */
export class Module {
  readonly manifest: Record<string, unknown>;
  readonly loader: ConfigLoader;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sleep: Sleep;
  private readonly factories = new Map<string, ItemFactory>();
  private readonly stderr: (text: string) => void;
  private httpClient: HttpClient | undefined;
  private configurationPromise: Promise<Record<string, unknown>> | undefined;

  constructor(options: ModuleOptions = {}) {
    this.manifest = readManifest(join(options.cwd ?? process.cwd(), 'manifest.json'));
    this.loader = options.loader ?? new ConfigLoader();
    this.logger = options.logger ?? new StdoutLogger();
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? realSleep;
    this.httpClient = options.http;
    this.stderr = options.stderr ?? ((text) => process.stderr.write(text));
  }

  /** Maps `dockerParameters` (the item JSON's `docker_parameters`) to the item to run. */
  register(factory: ItemFactory, dockerParameters: string): this {
    if (this.factories.has(dockerParameters)) {
      throw new Error(`"${dockerParameters}" is registered twice: each docker_parameters names one item.`);
    }
    this.factories.set(dockerParameters, factory);
    return this;
  }

  commands(): string[] {
    return [...this.factories.keys()];
  }

  /** Runs the item named by argv[0]; resolves to the process exit code (never throws). */
  async run(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
    const command = argv[0];
    const factory = command === undefined ? undefined : this.factories.get(command);
    if (factory === undefined) {
      const known = this.commands().join(', ') || '(none)';
      this.stderr(`Unknown command ${command ?? '(none)'}. Known commands: ${known}\n`);
      return EXIT_USAGE;
    }
    try {
      return await factory(this).execute();
    } catch (error) {
      // Items report their own failures; this is the last resort, still one line and no trace.
      this.logger.log('critical', `The command ${command ?? ''} failed: ${describeError(error)}`);
      return 1;
    }
  }

  /**
   * The module configuration (`module_configuration`, `{}` when absent), validated against the
   * manifest's `configuration` schema with defaults applied. When that schema declares secrets,
   * they are fetched from the secrets API and merged in first (they may be absent or encrypted
   * in the file). Computed once.
   */
  configuration(): Promise<Record<string, unknown>> {
    this.configurationPromise ??= this.loadConfiguration().catch((error: unknown) => {
      // A failed attempt (secrets API down) must not be cached forever.
      this.configurationPromise = undefined;
      throw error;
    });
    return this.configurationPromise;
  }

  token(): string | undefined {
    return this.loader.string('token');
  }

  urlLogs(): string | undefined {
    return this.loader.string('url_logs') ?? this.fromCallback('/logs');
  }

  urlSecrets(): string | undefined {
    return this.loader.string('url_secrets') ?? this.fromCallback('/secrets');
  }

  intakeUrl(): string | undefined {
    return this.loader.string('intake_url');
  }

  /** The shared HTTP client, built on first use. */
  http(): HttpClient {
    this.httpClient ??= createHttpClient({ timeoutMs: 30_000, userAgent: this.userAgent() });
    return this.httpClient;
  }

  private async loadConfiguration(): Promise<Record<string, unknown>> {
    const raw = this.loader.load('module_configuration', 'json') ?? {};
    const schema = this.configurationSchema();
    const secretNames = schema?.secrets ?? [];
    const merged = secretNames.length > 0 && isRecord(raw) ? { ...raw, ...(await this.fetchSecrets()) } : raw;
    if (schema === undefined) {
      if (!isRecord(merged)) {
        throw new ConfigurationError(
          'The module configuration must be a JSON object. Fix module_configuration.',
          {
            field: 'module_configuration',
          },
        );
      }
      return merged;
    }
    return this.validator(schema).validate(merged);
  }

  private async fetchSecrets(): Promise<Record<string, unknown>> {
    const url = this.urlSecrets();
    if (url === undefined) {
      throw new ConfigurationError(
        'The module declares secrets but neither url_secrets nor url_callback is set: the platform must provide one of them.',
        { field: 'url_secrets' },
      );
    }
    const token = this.loader.require('token', 'string') as string;
    return fetchModuleSecrets({ http: this.http(), url, token, clock: this.clock, sleep: this.sleep });
  }

  private configurationSchema(): ConfigurationSchema | undefined {
    const schema = this.manifest.configuration;
    return isRecord(schema) ? schema : undefined;
  }

  private validator(schema: ConfigurationSchema): ConfigurationValidator<Record<string, unknown>> {
    try {
      return new ConfigurationValidator(schema, { name: 'module configuration' });
    } catch (error) {
      throw new ConfigurationError(
        `The "configuration" of manifest.json is not a valid JSON Schema (${describeError(error)}). Fix manifest.json.`,
        { cause: error, field: 'configuration' },
      );
    }
  }

  /** The Python SDK's fallback: the callback URL with /callback replaced. */
  private fromCallback(suffix: string): string | undefined {
    return this.loader.string('url_callback')?.replace('/callback', suffix);
  }

  private userAgent(): string {
    const { slug, version } = this.manifest;
    return typeof slug === 'string' && typeof version === 'string'
      ? `sekoiaio-module/${slug}-${version}`
      : 'sekoiaio-module';
  }
}

function readManifest(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigurationError(`Cannot read ${path}: ${describeError(error)}. Check its permissions.`, {
      cause: error,
      field: 'manifest',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${path} is not valid JSON (${describeError(error)}). Fix the manifest.`, {
      cause: error,
      field: 'manifest',
    });
  }
  if (!isRecord(parsed)) {
    throw new ConfigurationError(`${path} must hold a JSON object. Fix the manifest.`, { field: 'manifest' });
  }
  return parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
