/**
 * The Docker image holds the runtime only and runs as a fixed non-root UID:GID. Docker is not
 * needed to check it: the build stage runs `npm run build`, so what that compiles is what ships.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { spawnSync } from 'node:child_process';
import { PRODUCTION_ENV, PRODUCTION_NODE_ARGS } from '../bench/trigger-process';

const root = path.resolve(__dirname, '..');
const read = (name: string): string => fs.readFileSync(path.join(root, name), 'utf8');
const RUNTIME_USER = '1000:1000';

/** Every source file a `tsc -b <config>` compiles, imports followed, as repository paths. */
function compiledSources(config: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(root, config),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (parsed === undefined) throw new Error(`${config} cannot be read`);
  const program = ts.createProgram({
    rootNames: parsed.fileNames,
    options: parsed.options,
    projectReferences: parsed.projectReferences ?? [],
  });
  return program
    .getSourceFiles()
    .map((file) => path.relative(root, file.fileName).split(path.sep).join('/'))
    .filter((name) => !name.startsWith('..') && !name.includes('node_modules/'));
}

/** The instructions of the Dockerfile's last stage (the image that ships). */
function finalStage(dockerfile: string): string[] {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const lastFrom = lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true);
  return lines.slice(lastFrom);
}

describe('the runtime image', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const dockerfile = read('Dockerfile');

  it('is built by `npm run build`, which compiles tsconfig.build.json', () => {
    expect(dockerfile).toMatch(/^RUN npm run build && npm prune --omit=dev$/m);
    expect(pkg.scripts.build).toBe('tsc -b tsconfig.build.json');
  });

  it('compiles no benchmark and no test code', () => {
    const sources = compiledSources('tsconfig.build.json');
    expect(sources).toEqual(expect.arrayContaining(['main.ts', 'trigger_fetch_new_logs/trigger.ts']));
    // main.ts runs the simulator for the `demo` command (`npm start`): it ships, as runtime code.
    expect(sources).toContain('simulator/index.ts');
    expect(sources.filter((name) => /^(bench|tests)\/|\/tests\//.test(name))).toEqual([]);
  });

  it('leaves the benchmarks to their own build, which `npm run bench` runs', () => {
    expect(compiledSources('tsconfig.bench.json')).toContain('bench/run.ts');
    expect(pkg.scripts.bench).toMatch(/^tsc -b tsconfig\.bench\.json && node dist\/bench\/run\.js/);
  });

  it('keeps tests and benchmarks out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['tests', 'bench', 'packages/automation-sdk-shim/tests']));
  });

  it(`ships dist, production node_modules and the module files, and runs as ${RUNTIME_USER}`, () => {
    const stage = finalStage(dockerfile);
    const copied = stage.filter((line) => /^COPY\s/i.test(line)).join('\n');
    expect(copied).not.toMatch(/\bbench\b|\btests\b|\bsrc\b/);
    for (const file of [
      'manifest.json',
      'trigger_fetch_new_logs.json',
      'connector_fetch_new_logs.json',
      'logo.png',
    ]) {
      expect(copied).toContain(`/app/${file}`);
    }
    const users = stage.filter((line) => /^USER\s/i.test(line));
    expect(users).toEqual([`USER ${RUNTIME_USER}`]); // numeric: runAsNonRoot can verify it
    expect(stage.at(-1)).toBe(
      `ENTRYPOINT ${JSON.stringify(['node', ...PRODUCTION_NODE_ARGS, './dist/main.js']).replaceAll(',', ', ')}`,
    );
  });

  it('runs node with the flags and environment the memory benchmark measures, which this node accepts', () => {
    const stage = finalStage(dockerfile);
    for (const [name, value] of Object.entries(PRODUCTION_ENV))
      expect(stage).toContain(`ENV ${name}=${value}`);
    // A V8 flag this node does not know is "bad option" and exit 9: the image would not start.
    const run = spawnSync(process.execPath, [...PRODUCTION_NODE_ARGS, '-e', '0'], {
      env: { ...process.env, ...PRODUCTION_ENV },
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('documents its user in the README', () => {
    expect(read('README.md')).toContain(`UID:GID ${RUNTIME_USER}`);
  });
});
