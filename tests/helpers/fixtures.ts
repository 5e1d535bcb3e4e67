import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository's own fixtures (see tests/fixtures/README.md for where each record comes from). */
export const FIXTURES_DIR = path.resolve(__dirname, '../fixtures');

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES_DIR, ...parts);
}

export function readFixture(...parts: string[]): unknown {
  return JSON.parse(fs.readFileSync(fixturePath(...parts), 'utf8'));
}
