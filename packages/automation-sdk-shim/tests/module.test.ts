import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigLoader } from '../src/config';
import { AuthenticationError, ConfigurationError } from '../src/errors';
import { createHttpClient } from '../src/http';
import { MemoryLogger } from '../src/testing';
import { Module, type ModuleOptions } from '../src/module';
import { ManualClock } from '../src/testing';
import { startScriptedServer, type ScriptedServer } from './helpers/scripted-server';

const TOKEN = 'platform-token-9f8e7d6c5b4a';

describe('Module', () => {
  let root: string;
  let server: ScriptedServer | undefined;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'module-'));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(root, { recursive: true, force: true });
  });

  async function moduleWith(
    manifest: unknown,
    env: Record<string, string> = {},
    extra: Partial<ModuleOptions> = {},
  ): Promise<Module> {
    if (manifest !== undefined) await writeFile(join(root, 'manifest.json'), JSON.stringify(manifest));
    const clock = new ManualClock();
    return new Module({
      cwd: root,
      loader: new ConfigLoader({ volumePath: join(root, 'symphony'), dataPath: join(root, 'data'), env }),
      logger: new MemoryLogger(),
      http: createHttpClient({ timeoutMs: 5_000 }),
      clock,
      sleep: clock.sleep,
      ...extra,
    });
  }

  describe('run', () => {
    it('rejects an unknown or missing command with exit code 2 and lists the known ones', async () => {
      const lines: string[] = [];
      const module = (await moduleWith({}, {}, { stderr: (text) => lines.push(text) }))
        .register(() => ({ execute: () => Promise.resolve(0) }), 'fetch_new_logs')
        .register(() => ({ execute: () => Promise.resolve(0) }), 'other_item');

      expect(await module.run(['nope'])).toBe(2);
      expect(await module.run([])).toBe(2);
      expect(lines).toEqual([
        'Unknown command nope. Known commands: fetch_new_logs, other_item\n',
        'Unknown command (none). Known commands: fetch_new_logs, other_item\n',
      ]);
    });

    it('runs the factory registered for argv[0] with the module and returns its exit code', async () => {
      const module = await moduleWith({});
      const seen: Module[] = [];
      module
        .register(
          (m) => ({
            execute: () => {
              seen.push(m);
              return Promise.resolve(0);
            },
          }),
          'first',
        )
        .register(() => ({ execute: () => Promise.resolve(3) }), 'second');

      expect(module.commands()).toEqual(['first', 'second']);
      expect(await module.run(['second', 'ignored'])).toBe(3);
      expect(await module.run(['first'])).toBe(0);
      expect(seen).toEqual([module]);
    });

    it('turns an item that throws into exit code 1 and one critical log line', async () => {
      const logger = new MemoryLogger();
      const module = (await moduleWith({}, {}, { logger })).register(
        () => ({ execute: () => Promise.reject(new ConfigurationError('"intake_key" is required')) }),
        'fetch_new_logs',
      );

      expect(await module.run(['fetch_new_logs'])).toBe(1);
      expect(logger.messages('critical')).toEqual([
        'The command fetch_new_logs failed: ConfigurationError: "intake_key" is required',
      ]);
    });

    it('refuses to register the same docker_parameters twice', async () => {
      const module = (await moduleWith({})).register(() => ({ execute: () => Promise.resolve(0) }), 'x');
      expect(() => module.register(() => ({ execute: () => Promise.resolve(0) }), 'x')).toThrow(
        /registered twice/,
      );
    });
  });

  describe('manifest', () => {
    it('is read from cwd, and {} when absent', async () => {
      expect((await moduleWith({ slug: 'trend-micro', version: '2.0.0' })).manifest).toEqual({
        slug: 'trend-micro',
        version: '2.0.0',
      });
      await rm(join(root, 'manifest.json'));
      expect((await moduleWith(undefined)).manifest).toEqual({});
    });

    it('fails with a ConfigurationError when it is not valid JSON', async () => {
      await writeFile(join(root, 'manifest.json'), '{"slug": ');
      expect(() => new Module({ cwd: root })).toThrow(ConfigurationError);
      expect(() => new Module({ cwd: root })).toThrow(join(root, 'manifest.json'));
    });
  });

  describe('platform settings', () => {
    it('derives the logs and secrets URLs from url_callback unless given', async () => {
      const derived = await moduleWith(
        {},
        { URL_CALLBACK: 'https://p.test/api/v1/callback', TOKEN: `${TOKEN}\n` },
      );
      expect(derived.urlLogs()).toBe('https://p.test/api/v1/logs');
      expect(derived.urlSecrets()).toBe('https://p.test/api/v1/secrets');
      expect(derived.token()).toBe(TOKEN);
      expect(derived.intakeUrl()).toBeUndefined();

      const explicit = await moduleWith(
        {},
        {
          URL_CALLBACK: 'https://p.test/callback',
          URL_LOGS: 'https://l.test/logs',
          URL_SECRETS: 'https://s.test/s',
          INTAKE_URL: 'https://intake.test',
        },
      );
      expect([explicit.urlLogs(), explicit.urlSecrets(), explicit.intakeUrl()]).toEqual([
        'https://l.test/logs',
        'https://s.test/s',
        'https://intake.test',
      ]);
    });
  });

  describe('configuration', () => {
    const withSecrets = {
      configuration: {
        type: 'object',
        properties: {
          tenant: { type: 'string' },
          api_key: { type: 'string' },
          region: { type: 'string', default: 'eu' },
        },
        required: ['tenant', 'api_key'],
        secrets: ['api_key'],
      },
    };

    it('is {} when module_configuration is absent and the manifest requires nothing', async () => {
      expect(await (await moduleWith({})).configuration()).toEqual({});
    });

    it('names every required key that is missing', async () => {
      const module = await moduleWith(
        { configuration: { ...withSecrets.configuration, secrets: [] } },
        {
          MODULE_CONFIGURATION: '{"region": "us"}',
        },
      );

      const error: unknown = await module.configuration().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).problems).toEqual([
        '"tenant" is required',
        '"api_key" is required',
      ]);
    });

    it('merges the secrets fetched from url_secrets when the manifest declares secrets, once', async () => {
      server = await startScriptedServer([{ status: 200, body: '{"value": {"api_key": "decrypted-key"}}' }]);
      const module = await moduleWith(withSecrets, {
        MODULE_CONFIGURATION: '{"tenant": "acme", "api_key": "encrypted"}',
        URL_SECRETS: `${server.url}/secrets`,
        TOKEN,
      });

      expect(await module.configuration()).toEqual({
        tenant: 'acme',
        api_key: 'decrypted-key',
        region: 'eu',
      });
      expect(await module.configuration()).toEqual({
        tenant: 'acme',
        api_key: 'decrypted-key',
        region: 'eu',
      });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('falls back to url_callback with /callback replaced by /secrets', async () => {
      server = await startScriptedServer([{ status: 200, body: '{"value": {"api_key": "k"}}' }]);
      const module = await moduleWith(withSecrets, {
        MODULE_CONFIGURATION: '{"tenant": "acme"}',
        URL_CALLBACK: `${server.url}/api/v1/callback`,
        TOKEN,
      });

      expect(await module.configuration()).toMatchObject({ api_key: 'k' });
      expect(server.requests[0]!.path).toBe('/api/v1/secrets');
    });

    it('does not call the secrets API when the manifest declares no secrets', async () => {
      server = await startScriptedServer([
        { status: 200, body: '{"value": {"api_key": "should-not-appear"}}' },
      ]);
      const module = await moduleWith(
        { configuration: { type: 'object', properties: { tenant: { type: 'string' } } } },
        { MODULE_CONFIGURATION: '{"tenant": "acme"}', URL_SECRETS: `${server.url}/secrets`, TOKEN },
      );

      expect(await module.configuration()).toEqual({ tenant: 'acme' });
      expect(server.requests).toHaveLength(0);
    });

    it('fails with an AuthenticationError (no token in it) when the secrets API refuses the token', async () => {
      server = await startScriptedServer([{ status: 401, body: '{"message": "unauthorized"}' }]);
      const module = await moduleWith(withSecrets, {
        MODULE_CONFIGURATION: '{"tenant": "acme"}',
        URL_SECRETS: `${server.url}/secrets`,
        TOKEN,
      });

      const error: unknown = await module.configuration().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as Error).message).not.toContain(TOKEN);
    });

    it('requires a secrets URL when the manifest declares secrets', async () => {
      const module = await moduleWith(withSecrets, { MODULE_CONFIGURATION: '{"tenant": "acme"}', TOKEN });
      const error: unknown = await module.configuration().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).field).toBe('url_secrets');
    });
  });
});
