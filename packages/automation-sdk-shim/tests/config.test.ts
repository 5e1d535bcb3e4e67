import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigLoader } from '../src/config';
import { ConfigurationError } from '../src/errors';

describe('ConfigLoader', () => {
  let volume: string;
  const configuration = {
    service_url: 'https://api.tmes.trendmicro.eu',
    batch_size: 500,
    nested: { a: [1, 2] },
  };
  const text = JSON.stringify(configuration);

  beforeEach(async () => {
    volume = await mkdtemp(join(tmpdir(), 'symphony-'));
  });

  afterEach(async () => {
    await rm(volume, { recursive: true, force: true });
  });

  it('loads the same object from a file (trimmed), env JSON and env base64 JSON', async () => {
    await writeFile(join(volume, 'trigger_configuration'), `\n  ${text}\n\n`);
    const fromFile = new ConfigLoader({ volumePath: volume, env: {} }).load('trigger_configuration', 'json');

    const empty = join(volume, 'absent');
    const fromEnv = new ConfigLoader({ volumePath: empty, env: { TRIGGER_CONFIGURATION: text } }).load(
      'trigger_configuration',
      'json',
    );
    const fromBase64 = new ConfigLoader({
      volumePath: empty,
      env: { TRIGGER_CONFIGURATION: Buffer.from(text).toString('base64') },
    }).load('trigger_configuration', 'json');

    expect(fromFile).toEqual(configuration);
    expect(fromEnv).toEqual(fromFile);
    expect(fromBase64).toEqual(fromFile);
  });

  it('trims string settings so a trailing newline never corrupts a token or a URL', async () => {
    await writeFile(join(volume, 'token'), 'abc.def.ghi\n');
    const loader = new ConfigLoader({
      volumePath: volume,
      env: { URL_LOGS: ' https://example.test/logs \n' },
    });

    expect(loader.load('token')).toBe('abc.def.ghi');
    expect(loader.string('url_logs')).toBe('https://example.test/logs');
  });

  it('prefers the file over the environment variable', async () => {
    await writeFile(join(volume, 'module_configuration'), '{"from": "file"}');
    const loader = new ConfigLoader({ volumePath: volume, env: { MODULE_CONFIGURATION: '{"from": "env"}' } });

    expect(loader.load('module_configuration', 'json')).toEqual({ from: 'file' });
  });

  it('returns undefined for a missing setting, and require() names the file and the variable', () => {
    const loader = new ConfigLoader({ volumePath: volume, env: {} });

    expect(loader.load('intake_url')).toBeUndefined();
    expect(loader.string('intake_url', 'https://intake.sekoia.io')).toBe('https://intake.sekoia.io');
    let error: unknown;
    try {
      loader.require('trigger_configuration', 'json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('trigger_configuration');
    expect((error as Error).message).toContain(join(volume, 'trigger_configuration'));
    expect((error as Error).message).toContain('TRIGGER_CONFIGURATION');
  });

  it('rejects a value that is neither JSON nor base64 JSON without quoting it', () => {
    const secretish = 'api_key: s3cr3t-Value!';
    const loader = new ConfigLoader({ volumePath: volume, env: { TRIGGER_CONFIGURATION: secretish } });

    expect(() => loader.load('trigger_configuration', 'json')).toThrow(ConfigurationError);
    expect(() => loader.load('trigger_configuration', 'json')).toThrow(/trigger_configuration/);
    expect(() => loader.load('trigger_configuration', 'json')).not.toThrow(/s3cr3t/);
  });

  it('rejects base64 that does not decode to JSON without quoting it', () => {
    const encoded = Buffer.from('not json at all s3cr3t').toString('base64');
    const loader = new ConfigLoader({ volumePath: volume, env: { MODULE_CONFIGURATION: encoded } });

    expect(() => loader.load('module_configuration', 'json')).toThrow(ConfigurationError);
    expect(() => loader.load('module_configuration', 'json')).not.toThrow(encoded);
  });

  it('takes the volume and data paths from SYMPHONY_* variables, with the SDK defaults', () => {
    const custom = new ConfigLoader({ env: { SYMPHONY_VOLUME_PATH: '/v', SYMPHONY_DATA_PATH: '/d' } });
    const defaults = new ConfigLoader({ env: {} });

    expect([custom.volumePath, custom.dataPath]).toEqual(['/v', '/d']);
    expect([defaults.volumePath, defaults.dataPath]).toEqual(['/symphony', '/symphony_data']);
  });
});
