import { readFile } from 'node:fs/promises';
import type { TmesSimulator } from '../simulator';
import { canonicalJson } from '../trigger_fetch_new_logs/record-identity';
import type { StreamName } from '../trigger_fetch_new_logs/streams';
import { streamFiles } from './demo-output';

export interface StreamCheck {
  /** Lines in <stream>.ndjson. */
  readonly lines: number;
  /** Lines in <stream>.ecs.ndjson (one per raw line). */
  readonly ecsLines: number;
  /** Records the simulator made visible up to the stream's final cursor: all must be there. */
  readonly expected: number;
  readonly missing: number;
  /** Lines repeating an earlier one. */
  readonly duplicates: number;
  /** Lines that are no record of the simulator at all. */
  readonly unknown: number;
}

/**
 * Reads the output back from disk and compares it with the simulator's own records: every
 * record visible up to the final cursor is there, none twice, nothing invented. The files are
 * what a user will look at, so they are what is checked, not the intake's memory.
 */
export async function verifyOutput(
  dir: string,
  simulator: TmesSimulator,
  cursors: Readonly<Partial<Record<StreamName, number>>>,
  streams: readonly StreamName[],
): Promise<Record<StreamName, StreamCheck>> {
  const result = {} as Record<StreamName, StreamCheck>;
  for (const stream of streams) {
    const files = streamFiles(dir, stream);
    const lines = await readLines(files.raw);
    const ecsLines = (await readLines(files.ecs)).length;
    const seen = new Set<string>();
    let duplicates = 0;
    for (const line of lines) {
      const key = canonicalJson(JSON.parse(line));
      if (seen.has(key)) duplicates++;
      seen.add(key);
    }
    const known = new Set(simulator.records(stream).map((r) => canonicalJson(r)));
    const unknown = [...seen].filter((key) => !known.has(key)).length;
    const cursor = cursors[stream];
    const expected =
      cursor === undefined ? [] : simulator.visible(stream, cursor).map((r) => canonicalJson(r));
    const missing = expected.filter((key) => !seen.has(key)).length;
    result[stream] = {
      lines: lines.length,
      ecsLines,
      expected: expected.length,
      missing,
      duplicates,
      unknown,
    };
  }
  return result;
}

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((line) => line !== '');
}
