import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from './errors';

/**
 * Reads runtime settings exactly as the Python SDK does: the file `<volume>/<name>`
 * (trimmed, unlike Python, so a trailing newline never corrupts a URL or a token), else the
 * environment variable `<NAME>` (for JSON values: JSON, else base64-encoded JSON).
 */
export interface ConfigLoaderOptions {
  /** Directory of configuration files; default `SYMPHONY_VOLUME_PATH` or `/symphony`. */
  volumePath?: string;
  /** Local checkpoint directory; default `SYMPHONY_DATA_PATH` or `/symphony_data`. */
  dataPath?: string;
  env?: NodeJS.ProcessEnv;
}

export type ConfigType = 'json' | 'string';

export class ConfigLoader {
  readonly volumePath: string;
  readonly dataPath: string;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: ConfigLoaderOptions = {}) {
    this.env = options.env ?? process.env;
    this.volumePath = options.volumePath ?? this.env.SYMPHONY_VOLUME_PATH ?? '/symphony';
    this.dataPath = options.dataPath ?? this.env.SYMPHONY_DATA_PATH ?? '/symphony_data';
  }

  /** The value, or undefined when neither the file nor the variable exists. */
  load(name: string, type: ConfigType = 'string'): unknown {
    const raw = this.readFile(name) ?? this.readEnv(name);
    if (raw === undefined) return undefined;
    return type === 'json' ? parseJsonSetting(name, raw) : raw;
  }

  /** Like load(), but a missing value is a ConfigurationError naming both places looked at. */
  require(name: string, type: ConfigType = 'string'): unknown {
    const value = this.load(name, type);
    if (value === undefined) {
      throw new ConfigurationError(
        `Missing setting "${name}": create the file ${join(this.volumePath, name)} or set the environment variable ${name.toUpperCase()}.`,
        { field: name },
      );
    }
    return value;
  }

  /** A string setting, or `fallback` when absent or blank. */
  string(name: string, fallback?: string): string | undefined {
    const value = this.load(name, 'string');
    return typeof value === 'string' && value !== '' ? value : fallback;
  }

  private readFile(name: string): string | undefined {
    try {
      return readFileSync(join(this.volumePath, name), 'utf8').trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ConfigurationError(
        `Cannot read the setting file ${join(this.volumePath, name)}: ${(error as Error).message}. Check its permissions.`,
        { field: name, cause: error },
      );
    }
  }

  private readEnv(name: string): string | undefined {
    const value = this.env[name.toUpperCase()];
    return value === undefined ? undefined : value.trim();
  }
}

function parseJsonSetting(name: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    // fall through to base64
  }
  if (/^[A-Za-z0-9+/=_-]+$/.test(raw)) {
    try {
      return JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
    } catch {
      // reported below
    }
  }
  // Never quote the value: it may hold secrets.
  throw new ConfigurationError(
    `The setting "${name}" is neither JSON nor base64-encoded JSON (${raw.length} characters). Fix its content.`,
    { field: name },
  );
}
