/**
 * The built CLI (`node dist/main.js …`, as users and `npm start` run it) in child processes.
 * `npm test` builds first. Servers the CLI talks to (TMES simulator, intake stand-in) run in
 * this process on 127.0.0.1; children use the real clock, so waits are real but bounded.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IntakeStandIn } from '@sekoia/automation-sdk-shim/testing';
import { exitCodesHelp } from '../../cli/exit-codes';
import { TmesSimulator, generateDataset, type GenerateOptions } from '../../simulator';
import { normalize } from '../../trigger_fetch_new_logs/normalizer';
import { canonicalJson } from '../../trigger_fetch_new_logs/record-identity';
import { STREAM_NAMES, type StreamName } from '../../trigger_fetch_new_logs/streams';
import { readFixture } from '../helpers/fixtures';

jest.setTimeout(30_000);

const ROOT = resolve(__dirname, '../..');
const MAIN = join(ROOT, 'dist', 'main.js');

interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  /** Output so far. */
  readonly out: { stdout: string; stderr: string };
  readonly done: Promise<Child>;
  signal(name: NodeJS.Signals): void;
}

/** Starts the built CLI; killed if it outlives `timeoutMs` (the test then fails on its exit). */
function start(
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Running {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString('utf8')));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<Child>((resolveDone, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveDone({ code, ...out });
    });
  });
  return { out, done, signal: (name) => child.kill(name) };
}

function cli(
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Child> {
  return start(args, options).done;
}

/** Real time, bounded: for a child process to reach a state. */
async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tmes-e2e-${prefix}-`));
}

function writeConfig(values: Record<string, unknown>): string {
  const path = join(tempDir('config'), 'config.json');
  writeFileSync(path, JSON.stringify(values));
  return path;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm test does it first).`);
});

describe('demo', () => {
  it('collects the simulated tenant into the output directory: complete, once, counts matching the summary', async () => {
    const out = tempDir('demo');
    const { code, stdout, stderr } = await cli([
      'demo',
      '--records',
      '300',
      '--live',
      '3',
      '--latency',
      '0',
      '--out',
      out,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Summary: caught up, then 3.0 s of live traffic');
    expect(stdout).toContain('Check:   OK.');
    expect(stdout).toContain('node dist/main.js run --config config.json');
    // Not a terminal: plain progress lines, no cursor movement.
    expect(stdout).toMatch(/^\[[^\]]+\] catching up \| accepted_traffic /m);
    expect(stdout).not.toContain('\x1b[');

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      verified: boolean;
      dataset: { backlog: GenerateOptions; live: GenerateOptions };
      streams: Record<
        StreamName,
        { forwarded: number; collected: number; duplicates: number; cursor: string | null }
      >;
    };
    expect(summary.verified).toBe(true);
    const backlog = generateDataset(summary.dataset.backlog);
    const live = generateDataset(summary.dataset.live);
    let total = 0;
    for (const stream of STREAM_NAMES) {
      const figures = summary.streams[stream];
      const raw = lines(join(out, `${stream}.ndjson`));
      const ecs = lines(join(out, `${stream}.ecs.ndjson`));
      total += raw.length;
      // The files hold exactly what the trigger counted as forwarded, each record once.
      expect(raw.length).toBe(figures.forwarded);
      expect(figures.collected).toBe(figures.forwarded + figures.duplicates);
      const keys = raw.map((line) => canonicalJson(JSON.parse(line)));
      expect(new Set(keys).size).toBe(keys.length);
      // The printed table says the same.
      const row = new RegExp(
        `^\\s+${stream}\\s+([\\d,]+)\\s+([\\d,]+)\\s+([\\d,]+)\\s+([\\d,]+)\\s+([\\d,]+)$`,
        'm',
      ).exec(stdout);
      expect(row?.slice(1, 6).map((n) => Number(n.replace(/,/g, '')))).toEqual([
        figures.collected,
        figures.forwarded,
        figures.duplicates,
        expect.any(Number),
        raw.length,
      ]);
      // Rebuilt from the seeds alone: every record generated at or before the cursor is there.
      expect(figures.cursor).not.toBeNull();
      const cursor = Date.parse(figures.cursor ?? '');
      const generated = [...backlog[stream], ...live[stream]];
      const due = generated
        .filter((r) => Date.parse(String(r.genTime)) <= cursor)
        .map((r) => canonicalJson(r));
      expect(due.length).toBeGreaterThan(0);
      const present = new Set(keys);
      expect(due.filter((key) => !present.has(key))).toEqual([]);
      // And nothing that the tenant never held.
      const known = new Set(generated.map((r) => canonicalJson(r)));
      expect(keys.filter((key) => !known.has(key))).toEqual([]);
      // Side by side: line i of the ECS file is normalize() of line i of the raw file.
      expect(ecs).toEqual(raw.map((line) => JSON.stringify(normalize(JSON.parse(line), stream))));
    }
    expect(total).toBeGreaterThanOrEqual(300);
    expect(stdout).toMatch(new RegExp(`^\\s+total\\s+[\\d,]+\\s+${total.toLocaleString('en-US')}\\s`, 'm'));
  });

  it('stops on Ctrl-C during the live period, still with a complete output and a summary', async () => {
    const out = tempDir('demo-interrupted');
    const child = start(['demo', '--records', '200', '--live', '60', '--latency', '0', '--out', out]);
    await until(() => child.out.stdout.includes('] live, '));
    child.signal('SIGINT');
    const { code, stdout } = await child.done;
    expect(code).toBe(0);
    expect(stdout).toContain('Summary: interrupted (Ctrl-C)');
    expect(stdout).toContain('Check:   OK.');
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { verified: boolean };
    expect(summary.verified).toBe(true);
  });

  it('refuses bad options with the usage (exit 2)', async () => {
    const bad = await cli(['demo', '--records', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--records must be a whole number');
    expect(bad.stderr).toContain('Usage: node dist/main.js demo');
    const unknown = await cli(['demo', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown option --bogus.');
  });

  it('says which --out cannot be used, and why, without a stack (exit 2)', async () => {
    const file = join(tempDir('demo-out-file'), 'a-file');
    writeFileSync(file, 'not a folder');
    const result = await cli(['demo', '--records', '10', '--live', '0', '--out', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--out ${file} cannot be used as the output folder`);
    expect(result.stderr).toContain('is a file');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('normalize', () => {
  it('turns the records of a fixture into ECS documents, as the library does', async () => {
    const fixture = readFixture('tmes', 'accepted_traffic.json') as {
      records: Record<string, unknown>[];
    };
    const input = fixture.records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const { code, stdout, stderr } = await cli(['normalize'], { input });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual(fixture.records.map((r) => JSON.stringify(normalize(r))));
  });
});

describe('check', () => {
  const API_KEY = 'check-KEY-s3cr3t-0042';
  const simulator = new TmesSimulator({ username: 'soc-reader', apiKey: API_KEY });
  let config: (overrides?: Record<string, unknown>) => string;

  beforeAll(async () => {
    const url = await simulator.start();
    const now = Date.now();
    simulator.generate({
      start: now - 30 * 60_000,
      end: now - 1_000,
      counts: { accepted_traffic: 50, blocked_traffic: 20, policy_events: 20 },
    });
    config = (overrides = {}) =>
      writeConfig({
        service_url: url,
        username: 'soc-reader',
        api_key: API_KEY,
        intake_key: 'INTAKE-KEY-0001',
        ...overrides,
      });
  });
  afterAll(async () => {
    await simulator.stop();
  });

  it('says OK for every log type with good credentials (exit 0), one request each', async () => {
    const before = simulator.stats.requests;
    const { code, stdout } = await cli(['check', '--config', config()]);
    expect(code).toBe(0);
    for (const stream of STREAM_NAMES) expect(stdout).toMatch(new RegExp(`^\\s+${stream}\\s+OK`, 'm'));
    expect(stdout).toContain('All 3 log types answered.');
    expect(simulator.stats.requests - before).toBe(3);
    expect(stdout).not.toContain(API_KEY);
  });

  it('names the credentials when they are refused, without printing the key (exit 1)', async () => {
    const wrong = 'wrong-KEY-not-shown-77';
    const { code, stdout, stderr } = await cli(['check', '--config', config({ api_key: wrong })]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/accepted_traffic\s+FAILED: the API refused the credentials\. Check "username"/);
    expect(stdout).toContain('3 of 3 log types failed.');
    for (const secret of [wrong, Buffer.from(`soc-reader:${wrong}`).toString('base64'), API_KEY]) {
      expect(stdout + stderr).not.toContain(secret);
    }
  });

  it('asks to enable Log Retrieval when the log API answers 404 (exit 1)', async () => {
    simulator.set({ logRetrieval: false });
    try {
      const { code, stdout } = await cli(['check', '--config', config()]);
      expect(code).toBe(1);
      expect(stdout).toMatch(
        /policy_events\s+FAILED: .*Log Retrieval is not enabled.*Enable it under Administration > Service Integration > Log Retrieval/,
      );
    } finally {
      simulator.set({ logRetrieval: true });
    }
  });

  it('points at the host and region when the API cannot be reached (exit 1)', async () => {
    const gone = new TmesSimulator();
    const url = await gone.start();
    await gone.stop();
    const { code, stdout } = await cli(['check', '--config', config({ service_url: url })]);
    expect(code).toBe(1);
    expect(stdout).toContain(`FAILED: cannot reach ${new URL(url).host} (ECONNREFUSED). Check "service_url"`);
  });

  it('lists every problem of an invalid configuration file (exit 3), and needs --config (exit 2)', async () => {
    const { code, stderr } = await cli([
      'check',
      '--config',
      writeConfig({ service_url: 'http://tmes.example.com', api_key: 'k3y-not-printed', frequency: 0 }),
    ]);
    expect(code).toBe(3);
    expect(stderr).toContain('(4 problems)');
    expect(stderr).toContain('"username" is required');
    expect(stderr).toContain('"intake_key" is required');
    expect(stderr).toContain('"frequency" must be >= 1');
    expect(stderr).toContain('"service_url" must use https://');
    expect(stderr).not.toContain('k3y-not-printed');
    const missing = await cli(['check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--config FILE');
  });

  it('names the placeholders of config.example.json (exit 3)', async () => {
    const { code, stderr } = await cli(['check', '--config', join(ROOT, 'config.example.json')]);
    expect(code).toBe(3);
    expect(stderr).toContain('"api_key" still holds the placeholder of config.example.json');
  });
});

describe('run', () => {
  const API_KEY = 'run-KEY-s3cr3t-0099';
  const INTAKE_KEY = 'RUN-INTAKE-KEY-5150';
  const simulator = new TmesSimulator({ username: 'collector', apiKey: API_KEY });
  const intake = new IntakeStandIn({ intakeKey: INTAKE_KEY });
  let configuration: Record<string, unknown>;
  let total = 0;

  beforeAll(async () => {
    const now = Date.now();
    simulator.generate({
      start: now - 40 * 60_000,
      end: now - 3 * 60_000,
      counts: { accepted_traffic: 300, blocked_traffic: 100, policy_events: 100 },
      seed: 9,
    });
    total = STREAM_NAMES.reduce((n, s) => n + simulator.records(s).length, 0);
    configuration = {
      service_url: await simulator.start(),
      username: 'collector',
      api_key: API_KEY,
      intake_key: INTAKE_KEY,
      intake_server: await intake.start(),
      frequency: 1,
    };
  });
  afterAll(async () => {
    await simulator.stop();
    await intake.stop();
  });

  it('collects into the intake, checkpoints in --data, stops on Ctrl-C, and resumes without repeating', async () => {
    const data = tempDir('data');
    const config = writeConfig(configuration);
    const first = start(['run', '--config', config, '--data', data]);
    await until(() => intake.events.length >= total);
    first.signal('SIGINT');
    const ended = await first.done;
    expect(ended.code).toBe(0);
    expect(ended.stderr).toContain(
      'Collecting accepted_traffic, blocked_traffic, policy_events from http://127.0.0.1:',
    );
    expect(ended.stdout).toContain('"message":"Stop requested');
    expect(ended.stdout + ended.stderr).not.toContain(API_KEY);
    expect(ended.stdout + ended.stderr).not.toContain(INTAKE_KEY);
    expect(existsSync(join(data, 'context.json'))).toBe(true);

    // Same data directory: the checkpoint says everything was delivered.
    const requests = simulator.stats.requests;
    const second = start(['run', '--config', config, '--data', data]);
    await until(() => simulator.stats.requests >= requests + 6);
    second.signal('SIGTERM');
    expect((await second.done).code).toBe(0);
    expect(intake.events.length).toBe(total);
    expect(new Set(intake.events).size).toBe(total);
  });

  it('refuses a --config file that does not exist (exit 3), saying how to make one', async () => {
    const { code, stderr } = await cli(['run', '--config', join(tempDir('config'), 'absent.json')]);
    expect(code).toBe(3);
    expect(stderr).toMatch(/Cannot read the configuration file .*absent\.json \(it does not exist\)/);
    expect(stderr).toContain('Copy config.example.json');
  });

  it('stops with exit 1 on a hand-edited checkpoint the schema refuses, naming the file, the field and the fix', async () => {
    const data = tempDir('data');
    const cursor = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(
      join(data, 'context.json'),
      JSON.stringify({
        version: 3,
        streams: {
          accepted_traffic: { cursor, rereads: [{ start: cursor, end: cursor, pass: 'one' }], setAside: [] },
        },
      }),
    );
    const { code, stdout, stderr } = await cli([
      'run',
      '--config',
      writeConfig(configuration),
      '--data',
      data,
    ]);
    expect(code).toBe(1);
    const critical = stdout.split('\n').find((line) => line.includes('"level":"critical"')) ?? '';
    expect(critical).toContain(join(data, 'context.json'));
    expect(critical).toContain('streams.accepted_traffic.rereads[0].pass');
    expect(critical).toContain('must be a whole number');
    expect(critical).toContain('delete it to start again');
    expect(stderr).toContain('run: stopped on a fatal error');
  });

  it('ends with exit 1 and the reason when the credentials are refused', async () => {
    const { code, stdout, stderr } = await cli([
      'run',
      '--config',
      writeConfig({ ...configuration, api_key: 'refused-KEY-31337' }),
      '--data',
      tempDir('data'),
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /"level":"critical","message":"[a-z_]+: the Trend Micro API refused the credentials/,
    );
    expect(stderr).toContain('run: stopped on a fatal error');
    expect(stdout + stderr).not.toContain('refused-KEY-31337');
  });
});

describe('command line', () => {
  it('--help lists the commands; each command has its --help', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain(exitCodesHelp());
    for (const name of ['demo', 'check', 'run', 'normalize', 'fetch_new_logs'])
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const helps = await Promise.all(
      ['demo', 'check', 'run', 'normalize'].map((name) => cli([name, '--help'])),
    );
    helps.forEach((help, i) => {
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(
        `Usage: node dist/main.js ${['demo', 'check', 'run', 'normalize'][i] ?? ''}`,
      );
    });
  });

  it('an unknown command, or none, is a usage error listing the commands (exit 2)', async () => {
    for (const argv of [['frobnicate'], []]) {
      const { code, stderr } = await cli(argv);
      expect(code).toBe(2);
      expect(stderr).toContain('Commands:');
      expect(stderr).toMatch(/^ {2}demo /m);
    }
  });

  it('fetch_new_logs is still the platform entry point (reads the volume, one critical when unconfigured)', async () => {
    const volume = tempDir('volume');
    const child = start(['fetch_new_logs'], {
      env: {
        SYMPHONY_VOLUME_PATH: volume,
        SYMPHONY_DATA_PATH: volume,
        LIVENESS_PORT: '0',
        METRICS_PORT: '0',
      },
    });
    await until(() => child.out.stdout.includes('"level":"critical"'));
    child.signal('SIGTERM');
    const { code, stdout } = await child.done;
    expect(code).toBe(0);
    expect(stdout).toContain(`create ${volume}/trigger_configuration`);
  });
});
