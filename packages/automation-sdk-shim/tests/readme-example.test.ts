/**
 * The README's example connector, compiled and run exactly as written there: the blocks marked
 * `<!-- example: NAME.ts -->` are written to a directory inside this package, type-checked with
 * the package's own resolution (its `exports` map and built declarations, as a module depending
 * on it would see them), compiled to CommonJS and run with Node. Docs and code cannot drift.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';

const packageDir = join(__dirname, '..');
const ENTRY_POINTS = ['@sekoia/automation-sdk-shim', '@sekoia/automation-sdk-shim/testing'];

/** Each `<!-- example: NAME -->` followed by a ```ts block: NAME → code. */
export function exampleBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- example: ([\w.-]+) -->\s*```ts\n([\s\S]*?)```/g)) {
    blocks.set(match[1]!, match[2]!);
  }
  return blocks;
}

/** The bare specifiers a source imports (node: builtins left out). */
function packageImports(source: string): string[] {
  return [...source.matchAll(/\bfrom\s+'([^'.][^']*)'/g)]
    .map((m) => m[1]!)
    .filter((s) => !s.startsWith('node:'));
}

describe('the README example connector', () => {
  const blocks = exampleBlocks(readFileSync(join(packageDir, 'README.md'), 'utf8'));
  let dir: string | undefined;
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('is in the README: a connector of about 40 lines, and a run that imports only the two entry points', () => {
    expect([...blocks.keys()]).toEqual(['fetch-records.ts', 'run-example.ts']);
    const connector = blocks.get('fetch-records.ts')!;
    expect(connector.trimEnd().split('\n').length).toBeLessThanOrEqual(60);
    for (const source of blocks.values()) {
      for (const specifier of packageImports(source)) expect(ENTRY_POINTS).toContain(specifier);
    }
    expect(packageImports(blocks.get('run-example.ts')!)).toEqual(ENTRY_POINTS);
  });

  it('compiles against the built package with node16 resolution and runs to the end', async () => {
    if (!existsSync(join(packageDir, 'dist', 'testing', 'index.d.ts'))) {
      throw new Error('The package is not built: run `npm run build` (npm test does it first).');
    }
    // Inside the package, so the example imports it by name through its `exports` map.
    dir = mkdtempSync(join(packageDir, '.readme-example-'));
    const files = [...blocks].map(([name, code]) => {
      writeFileSync(join(dir!, name), code);
      return join(dir!, name);
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Node16,
      moduleResolution: ts.ModuleResolutionKind.Node16,
      strict: true,
      noUncheckedIndexedAccess: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
      outDir: dir,
      rootDir: dir,
    });
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => dir!,
      getNewLine: () => '\n',
    };
    expect(ts.formatDiagnostics(diagnostics, host)).toBe('');

    // Exits by itself once it printed its line: a handle left open would time this out.
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'run-example.js')], {
      cwd: dir,
      timeout: 20_000,
    });
    expect(stdout).toContain('example ok');
  }, 60_000);
});
