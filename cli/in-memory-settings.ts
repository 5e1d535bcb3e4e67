import { ConfigLoader, type ConfigType } from '@sekoia/automation-sdk-shim';

/**
 * Runtime settings held in memory. A CLI run reads neither a /symphony volume nor the platform's
 * environment variables, so a stray TOKEN or FILE_BACKEND in the shell cannot change where logs
 * or checkpoints go, and the configuration (with its keys) is never written to disk.
 */
export class InMemorySettings extends ConfigLoader {
  constructor(
    private readonly values: Readonly<Record<string, unknown>>,
    dataPath: string,
  ) {
    super({ volumePath: '(in memory)', dataPath, env: {} });
  }

  override load(name: string, type: ConfigType = 'string'): unknown {
    const value = this.values[name];
    if (value === undefined) return undefined;
    if (type === 'json' || typeof value === 'string') return value;
    return JSON.stringify(value);
  }
}
