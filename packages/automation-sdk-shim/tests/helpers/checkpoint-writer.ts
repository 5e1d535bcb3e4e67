import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The compiled store the child uses: the crash test exercises the shipped JavaScript. */
export const COMPILED_FILE_STORE = join(__dirname, '../../dist/storage/file-store.js');

/**
 * Plain JavaScript run by a child `node -e`: saves ~1 MB checkpoints with an increasing `seq`
 * in a tight loop, printing "saved <seq>" once each save resolved (is durable). Kept as a
 * string so the project's type-checked lint covers this file (a .cjs would not be in a project).
 */
const WRITER_SCRIPT = `
'use strict';
const [storePath, directory] = process.argv.slice(1);
const { FileCheckpointStore } = require(storePath);
(async () => {
  const store = new FileCheckpointStore({ directory });
  const previous = await store.load();
  let seq = previous === undefined ? 0 : previous.seq;
  const padding = 'x'.repeat(1024 * 1024);
  for (;;) {
    seq += 1;
    await store.save({ seq, padding, tail: seq });
    process.stdout.write('saved ' + seq + '\\n');
  }
})().catch((error) => {
  process.stderr.write(String(error) + '\\n');
  process.exit(1);
});
`;

/** Starts a writer on `directory`; fails clearly when the shim was not built. */
export function spawnCheckpointWriter(directory: string): ChildProcess {
  if (!existsSync(COMPILED_FILE_STORE)) {
    throw new Error(
      `${COMPILED_FILE_STORE} is missing: build the shim first (npx tsc -b packages/automation-sdk-shim, or npm test).`,
    );
  }
  return spawn(process.execPath, ['-e', WRITER_SCRIPT, COMPILED_FILE_STORE, directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
