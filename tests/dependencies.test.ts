/**
 * Every import resolves from the package.json of the package that makes it — not through npm's
 * hoisting, which a fresh install, a pruned image or another package manager does not promise — and
 * nothing is declared that nothing uses.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

interface Scope {
  /** The package.json that must declare what these files import. */
  manifest: string;
  /** Shipped code: its imports must be `dependencies`. */
  runtime: string[];
  /** Tests, benchmarks, configuration: `dependencies` or `devDependencies`. */
  dev: string[];
}

const SCOPES: readonly Scope[] = [
  {
    manifest: 'package.json',
    runtime: ['main.ts', 'cli/', 'trigger_fetch_new_logs/', 'simulator/'],
    dev: ['tests/', 'bench/', 'eslint.config.mjs', 'jest.config.js'],
  },
  {
    manifest: 'packages/automation-sdk-shim/package.json',
    runtime: ['packages/automation-sdk-shim/src/'],
    dev: ['packages/automation-sdk-shim/tests/', 'packages/automation-sdk-shim/jest.config.js'],
  },
];

/**
 * Declared but imported by nothing yet, on purpose. Keep each entry explained, and remove it as
 * soon as the reason is gone.
 */
const DECLARED_UNUSED: Readonly<Record<string, string>> = {};

/** Tools run by npm scripts or configuration, never imported: each with the text that uses it. */
const TOOLS: Readonly<Record<string, { file: string; evidence: RegExp }>> = {
  jest: { file: 'package.json', evidence: /"test": "jest/ },
  'ts-jest': { file: 'jest.config.js', evidence: /'ts-jest'/ },
  typescript: { file: 'package.json', evidence: /\btsc -b\b/ },
  eslint: { file: 'package.json', evidence: /\beslint \./ },
  prettier: { file: 'package.json', evidence: /\bprettier --check\b/ },
};

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const IMPORT_PATTERNS: readonly RegExp[] = [
  /^\s*(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import x from 'm', export … from 'm'
  /^\s*import\s*['"]([^'"]+)['"]/gm, // import 'm' (side effects)
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // dynamic import
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g, // require
];

// This file's own examples of import statements are not imports.
const SELF = path.relative(root, __filename).split(path.sep).join('/');

/** The package names a source text imports (bare specifiers only; builtins excluded). */
export function importedPackages(source: string): Set<string> {
  const packages = new Set<string>();
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('/')) continue;
      if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) continue;
      const parts = specifier.split('/');
      packages.add(specifier.startsWith('@') ? `${parts[0]!}/${parts[1]!}` : parts[0]!);
    }
  }
  return packages;
}

function trackedSources(): string[] {
  const output = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  });
  return output
    .split('\0')
    .filter((name) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(name) && name !== SELF)
    .filter((name) => fs.existsSync(path.join(root, name)));
}

const inside = (name: string, prefixes: string[]): boolean =>
  prefixes.some((prefix) => (prefix.endsWith('/') ? name.startsWith(prefix) : name === prefix));

function importsOf(files: string[]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const file of files) {
    for (const name of importedPackages(fs.readFileSync(path.join(root, file), 'utf8'))) {
      users.set(name, [...(users.get(name) ?? []), file]);
    }
  }
  return users;
}

function readPackage(manifest: string): Required<PackageJson> {
  const json = JSON.parse(fs.readFileSync(path.join(root, manifest), 'utf8')) as PackageJson;
  return { dependencies: json.dependencies ?? {}, devDependencies: json.devDependencies ?? {} };
}

describe('importedPackages', () => {
  it('reads every import form and keeps the package name only', () => {
    const source = [
      "import fc from 'fast-check';",
      "import type { S3Client } from '@aws-sdk/client-s3';",
      'import {\n  a,\n  b,\n} from "ajv-formats/dist/formats";',
      "export { x } from 'axios';",
      "import 'side-effect';",
      "const s3 = await import('@scope/lazy');",
      "const old = require('legacy');",
      "import { join } from 'node:path';",
      "import * as fs from 'fs';",
      "import { local } from './local';",
    ].join('\n');
    expect([...importedPackages(source)].sort()).toEqual(
      [
        '@aws-sdk/client-s3',
        '@scope/lazy',
        'ajv-formats',
        'axios',
        'fast-check',
        'legacy',
        'side-effect',
      ].sort(),
    );
  });
});

describe('dependencies are declared where they are used', () => {
  const sources = trackedSources();

  it('checks every source file of the repository (a new folder needs a scope)', () => {
    const unscoped = sources.filter((file) => !SCOPES.some((s) => inside(file, [...s.runtime, ...s.dev])));
    expect(unscoped).toEqual([]);
  });

  describe.each(SCOPES)('$manifest', (scope) => {
    const pkg = readPackage(scope.manifest);
    const runtimeImports = importsOf(sources.filter((file) => inside(file, scope.runtime)));
    const devImports = importsOf(sources.filter((file) => inside(file, scope.dev)));

    it('declares in dependencies every package its shipped code imports', () => {
      const missing = [...runtimeImports].filter(([name]) => !(name in pkg.dependencies));
      expect(Object.fromEntries(missing)).toEqual({});
    });

    it('declares every package its tests, benchmarks and configuration import', () => {
      const declared = { ...pkg.dependencies, ...pkg.devDependencies };
      const missing = [...devImports].filter(([name]) => !(name in declared));
      expect(Object.fromEntries(missing)).toEqual({});
    });

    it('declares in dependencies only what its shipped code imports', () => {
      const unused = Object.keys(pkg.dependencies).filter(
        (name) => !runtimeImports.has(name) && !(name in DECLARED_UNUSED),
      );
      expect(unused).toEqual([]);
    });

    it('declares in devDependencies only what is imported, typed or run', () => {
      const declared = { ...pkg.dependencies, ...pkg.devDependencies };
      const unused = Object.keys(pkg.devDependencies).filter((name) => {
        if (runtimeImports.has(name) || devImports.has(name)) return false;
        const typed = /^@types\/(.+)$/.exec(name)?.[1];
        if (typed !== undefined) return !(typed === 'node' || typed in declared);
        const tool = TOOLS[name];
        if (tool === undefined) return true;
        return !tool.evidence.test(fs.readFileSync(path.join(root, tool.file), 'utf8'));
      });
      expect(unused).toEqual([]);
    });
  });

  it('keeps each declared-but-unused exception declared (a stale entry is removed)', () => {
    const everything = SCOPES.flatMap((s) => Object.keys(readPackage(s.manifest).dependencies));
    for (const name of Object.keys(DECLARED_UNUSED)) expect(everything).toContain(name);
  });
});
