import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { pythonJsonDumps, pythonString } from './helpers/python-json';

const root = path.resolve(__dirname, '..');
const read = (name: string): string => fs.readFileSync(path.join(root, name), 'utf8');

interface Property {
  title?: unknown;
  description?: string;
}
interface ArgumentsSchema {
  type: string;
  title: string;
  properties: Record<string, Property>;
  required: string[];
  secrets: string[];
}
interface Manifest {
  name: string;
  uuid: string;
  slug: string;
  version: string;
  description: string;
  categories: string[];
  configuration: object;
}
interface TriggerFile {
  name: string;
  uuid: string;
  description: string;
  docker_parameters: string;
  arguments: ArgumentsSchema;
  results: object;
}

type ConnectorFile = Omit<TriggerFile, 'results'>;

const manifest = JSON.parse(read('manifest.json')) as Manifest;
const trigger = JSON.parse(read('trigger_fetch_new_logs.json')) as TriggerFile;
const connector = JSON.parse(read('connector_fetch_new_logs.json')) as ConnectorFile & { results?: unknown };

/** This module's identity: generated once (crypto.randomUUID()), never to change. */
const MODULE_UUID = 'afad11ba-60a1-4452-8fdd-3cf568ea216d';
const FETCH_NEW_LOGS_UUID = '61aae16c-dd81-4b33-b886-2b1c07e02eb5';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Sekoia's UI shows a description under its field: the limits keep the form readable. */
const MAX_PROPERTY_DESCRIPTION = 150; // the longest property description in Sekoia's library
const MAX_COMPONENT_DESCRIPTION = 120; // trigger and connector (the library's longest trigger: 111)

/** Strict draft-07 compiler that knows Sekoia's `secrets` keyword (anything else unknown fails). */
function draft07(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'secrets', schemaType: 'array' });
  return ajv;
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Release versions of a Keep-a-Changelog file: `## [X.Y.Z]…` or `## YYYY-MM-DD - X.Y.Z`. */
function changelogReleases(text: string): string[] {
  const versions: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^## (?:\[(\d+\.\d+\.\d+[^\]]*)\]|\d{4}-\d{2}-\d{2} - (\d+\.\d+\.\d+\S*))/.exec(line);
    const version = match?.[1] ?? match?.[2];
    if (version !== undefined) versions.push(version);
  }
  return versions;
}

function compareSemver(a: string, b: string): number {
  const parts = (v: string): number[] => v.split(/[-+]/)[0]!.split('.').map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

function jsonFilesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .map((name) => `${dir}/${name.split(path.sep).join('/')}`)
    .sort();
}

function newestRelease(text: string): string | undefined {
  return changelogReleases(text).sort(compareSemver).at(-1);
}

describe('JSON files are byte-identical to Python json.dumps(indent=2)', () => {
  // Sekoia's linter.py (SEKOIA-IO/automation-library) reads every changed .json file of a module
  // and compares it with json.dumps(json.loads(text), indent=2): no trailing newline.
  const files = [
    'manifest.json',
    'trigger_fetch_new_logs.json',
    'connector_fetch_new_logs.json',
    ...jsonFilesUnder('schemas'),
    ...jsonFilesUnder('tests/fixtures'),
  ];

  it.each(files)('%s', (name) => {
    const text = read(name);
    expect(text.endsWith('\n')).toBe(false);
    expect(text).toBe(pythonJsonDumps(JSON.parse(text)));
  });

  it('sees a file Prettier or npm would have written as different', () => {
    const value = { categories: ['Email'], name: 'Réunion' };
    expect(`${JSON.stringify(value, null, 2)}\n`).not.toBe(pythonJsonDumps(value));
    expect(JSON.stringify(value, null, 2)).not.toBe(pythonJsonDumps(value)); // é is \u00e9 for Python
  });

  it('the helper formats like Python (escapes, separators, empty containers, nesting)', () => {
    const value = {
      b: [1, 'é', { x: [] }],
      a: {},
      'k"\\': 'line\nbreak\u007f\u{1F600}',
      n: null,
      t: true,
      f: 1.5,
      e: 1e-7,
    };
    expect(pythonJsonDumps(value)).toBe(
      [
        '{',
        '  "b": [',
        '    1,',
        '    "\\u00e9",',
        '    {',
        '      "x": []',
        '    }',
        '  ],',
        '  "a": {},',
        '  "k\\"\\\\": "line\\nbreak\\u007f\\ud83d\\ude00",',
        '  "n": null,',
        '  "t": true,',
        '  "f": 1.5,',
        '  "e": 1e-07',
        '}',
      ].join('\n'),
    );
    expect(pythonString('\u0001\t')).toBe('"\\u0001\\t"');
  });
});

describe('manifest.json', () => {
  it('identifies the module', () => {
    expect(manifest.name).toBe('Trend Micro Email Security');
    expect(manifest.uuid).toBe(MODULE_UUID);
    expect(manifest.slug).toBe('trend-micro-email-security');
    expect(manifest.slug).toMatch(/^[a-z]([a-z_.-]|\d)*$/);
    expect(manifest.categories).toEqual(['Email']);
    expect(typeof manifest.description).toBe('string');
    expect(manifest.description.length).toBeGreaterThan(40);
  });

  it('has a semver version equal to the newest CHANGELOG release, when there is one', () => {
    expect(manifest.version).toMatch(SEMVER);
    const changelog = read('CHANGELOG.md');
    expect(changelog).toMatch(/^## (Unreleased|\[?\d)/m);
    // Today CHANGELOG.md only has "## Unreleased"; the first release entry must carry this version.
    const newest = newestRelease(changelog);
    if (newest !== undefined) expect(manifest.version).toBe(newest);
  });

  it('has the version of the npm package', () => {
    expect((JSON.parse(read('package.json')) as { version: string }).version).toBe(manifest.version);
  });

  it('reads both changelog release styles and picks the newest', () => {
    const text = [
      '# Changelog',
      '## Unreleased',
      '## 2025-01-02 - 1.10.0',
      '## [1.9.3] - 2024-12-01',
      '## [1.2.0]',
    ].join('\n');
    expect(changelogReleases(text)).toEqual(['1.10.0', '1.9.3', '1.2.0']);
    expect(newestRelease(text)).toBe('1.10.0');
    expect(newestRelease('# Changelog\n\n## Unreleased\n')).toBeUndefined();
  });

  it('has a draft-07 configuration with no required property', () => {
    expect(manifest.configuration).toEqual({
      $schema: 'http://json-schema.org/draft-07/schema#',
      properties: {},
      required: [],
      title: 'Module configuration',
      type: 'object',
    });
    expect(draft07().compile(manifest.configuration)({})).toBe(true);
  });
});

describe('trigger_fetch_new_logs.json', () => {
  const args = trigger.arguments;

  it('identifies the trigger', () => {
    expect(trigger.name).toBe('Fetch new logs');
    expect(trigger.uuid).toBe(FETCH_NEW_LOGS_UUID);
    expect(trigger.docker_parameters).toBe('fetch_new_logs');
    expect(typeof trigger.description).toBe('string');
  });

  it('requires exactly the four settings of the integration page and hides the API key', () => {
    expect(args.required).toEqual(['service_url', 'username', 'api_key', 'intake_key']);
    expect(args.secrets).toEqual(['api_key']);
    expect(args.type).toBe('object');
    expect(typeof args.title).toBe('string');
    for (const name of [...args.required, ...args.secrets]) expect(args.properties[name]).toBeDefined();
  });

  it('gives every setting a title and a description', () => {
    for (const [name, property] of Object.entries(args.properties)) {
      expect([name, typeof property.title, typeof property.description]).toEqual([name, 'string', 'string']);
    }
  });

  it('gives an example host in the service_url description (the README lists every region)', () => {
    expect(args.properties.service_url?.description).toMatch(/api\.tmes\.trendmicro\.com/);
  });

  it('compiles arguments and results as draft-07 and applies the documented defaults', () => {
    const ajv = draft07();
    expect(ajv.compile(trigger.results)({})).toBe(true);
    const validate = ajv.compile(args);
    const config: Record<string, unknown> = {
      service_url: 'api.tmes.trendmicro.eu',
      username: 'u',
      api_key: 'k',
      intake_key: 'i',
    };
    expect(validate(config)).toBe(true);
    expect(config).toEqual({
      service_url: 'api.tmes.trendmicro.eu',
      username: 'u',
      api_key: 'k',
      intake_key: 'i',
      intake_server: 'https://intake.sekoia.io',
      late_window: 30,
      max_parallel_requests: 4,
      log_types: ['accepted_traffic', 'blocked_traffic', 'policy_events'],
      frequency: 60,
      batch_size: 500,
      start_time: 1,
      timedelta: 1,
      output_format: 'raw',
    });
  });

  it('rejects a configuration without api_key', () => {
    expect(draft07().compile(args)({ service_url: 'x', username: 'u', intake_key: 'i' })).toBe(false);
  });

  it.each<[Record<string, unknown>, string]>([
    [{ batch_size: 501 }, 'batch_size above the API maximum'],
    [{ frequency: 0 }, 'frequency 0'],
    [{ start_time: 73 }, 'start_time beyond the 72 h horizon'],
    [{ timedelta: 61 }, 'timedelta above 60'],
    [{ log_types: [] }, 'no log type'],
    [{ log_types: ['accepted_traffic', 'accepted_traffic'] }, 'duplicate log type'],
    [{ log_types: ['audit'] }, 'unknown log type'],
    [{ output_format: 'xml' }, 'unknown output format'],
  ])('rejects %j (%s)', (change) => {
    const config = { service_url: 'x', username: 'u', api_key: 'k', intake_key: 'i', ...change };
    expect(draft07().compile(args)(config)).toBe(false);
  });

  it('accepts the configuration the Python trigger received (AL test fixture)', () => {
    const legacy = {
      service_url: 'https://api.tmes.trendmicro.eu',
      username: 'john',
      api_key: 'secret',
      intake_key: 'intake',
      frequency: 60,
      batch_size: 500,
      intake_server: 'https://intake.sekoia.io',
    };
    expect(draft07().compile(args)(legacy)).toBe(true);
  });
});

describe('identity', () => {
  it('uses random v4 UUIDs of its own, one for the module, one for Fetch new logs', () => {
    expect(manifest.uuid).toMatch(UUID_V4);
    expect(trigger.uuid).toMatch(UUID_V4);
    expect(manifest.uuid).not.toBe(trigger.uuid);
  });

  it("shares no UUID with a module, trigger, connector or action of Sekoia's library", () => {
    const library = JSON.parse(read('tests/fixtures/sekoia-library/uuids.json')) as { uuids: string[] };
    expect(library.uuids.length).toBeGreaterThan(500);
    const taken = new Set(library.uuids);
    expect([manifest.uuid, trigger.uuid, connector.uuid].filter((uuid) => taken.has(uuid))).toEqual([]);
  });
});

describe('connector_fetch_new_logs.json', () => {
  it('is the twin of the trigger: same uuid, name, description, docker_parameters and arguments', () => {
    const { results: _results, ...twin } = trigger;
    expect(connector).toEqual(twin);
    expect(Object.keys(connector)).toEqual(Object.keys(twin));
  });

  it('has no results (a connector forwards events, it returns none)', () => {
    expect(connector).not.toHaveProperty('results');
  });
});

describe('descriptions fit the form', () => {
  it.each([
    ['trigger_fetch_new_logs.json', trigger],
    ['connector_fetch_new_logs.json', connector],
  ] as const)("%s: the description is at most 120 characters, each property's at most 150", (_name, file) => {
    expect(file.description.length).toBeLessThanOrEqual(MAX_COMPONENT_DESCRIPTION);
    const tooLong = Object.entries(file.arguments.properties)
      .filter(([, property]) => (property.description ?? '').length > MAX_PROPERTY_DESCRIPTION)
      .map(([name, property]) => `${name}: ${String(property.description?.length)}`);
    expect(tooLong).toEqual([]);
  });
});

describe('logo.png', () => {
  const logo = fs.readFileSync(path.join(root, 'logo.png'));

  it('is a square PNG of at most 50 KiB', () => {
    expect(logo.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(logo.subarray(12, 16).toString('ascii')).toBe('IHDR');
    const width = logo.readUInt32BE(16);
    const height = logo.readUInt32BE(20);
    expect(width).toBeGreaterThan(0);
    expect(width).toBe(height);
    expect(logo.length).toBeLessThanOrEqual(50 * 1024);
  });
});
