import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The directory holding manifest.json, searched upwards from this file, so the CLI finds the
 * module's manifest from dist/ or from the sources, whatever the working directory is.
 */
export function moduleRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'manifest.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
