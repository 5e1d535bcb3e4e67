/**
 * The repository stands alone: a fresh clone with nothing beside it must build, test and run.
 * No product file (code, test, script, document, configuration) may point at a folder next to
 * the repository, where a working copy happened to find reference material.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

// Built from pieces so that this file does not match itself.
const SIBLING = ['..', 'shared'].join('/');
const OUTSIDE_REFERENCES: readonly RegExp[] = [
  new RegExp(SIBLING.replace(/\./g, '\\.')), // the sibling folder, from any depth
  new RegExp(['shared', '(fixtures|docs|seed|DESIGN)'].join('/')), // its sub-folders, however they are reached
  new RegExp(['', 'work', ''].join('/')), // an absolute path of the machine the module was written on
];

/** Tracked files plus new ones not ignored yet, so a reference is caught before it is committed. */
function productFiles(): string[] {
  const output = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  });
  return output
    .split('\0')
    .filter((name) => name !== '')
    .filter((name) => fs.existsSync(path.join(root, name))); // deleted but not yet staged
}

export function outsideReferences(text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (OUTSIDE_REFERENCES.some((pattern) => pattern.test(line)))
      found.push(`${String(index + 1)}: ${line.trim()}`);
  });
  return found;
}

describe('the repository stands alone', () => {
  const files = productFiles();

  it('lists the product files through git', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'tests/standalone.test.ts', 'README.md']));
  });

  it('recognises a reference to a folder outside the repository', () => {
    expect(outsideReferences(`const dir = '${SIBLING}/fixtures/tmes';`)).toHaveLength(1);
    expect(outsideReferences(`see ${['shared', 'fixtures', 'seed-samples'].join('/')}`)).toHaveLength(1);
    expect(outsideReferences(`cd ${['', 'work', 'main'].join('/')}`)).toHaveLength(1);
    expect(outsideReferences('shared by the live view and the summary; tests/fixtures/tmes')).toEqual([]);
  });

  it('has no product file that points outside it', () => {
    const offenders: Record<string, string[]> = {};
    for (const name of files) {
      const content = fs.readFileSync(path.join(root, name));
      if (content.includes(0)) continue; // binary (logo.png)
      const found = outsideReferences(content.toString('utf8'));
      if (found.length > 0) offenders[name] = found;
    }
    expect(offenders).toEqual({});
  });

  it('keeps every fixture a test reads inside tests/fixtures', () => {
    for (const name of ['seed-samples/delivered.json', 'tmes/accepted_traffic.json', 'README.md']) {
      expect(fs.existsSync(path.join(root, 'tests/fixtures', name))).toBe(true);
    }
  });
});
