import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TransientError } from '../errors';
import { errorCode, syncDirectory, writeFileAtomically } from './atomic-file';
import { checkObjectName, CheckpointCorruptError, type NamedObjects } from './checkpoint-store';
import { serialiseCheckpoint } from './file-store';

/**
 * Named objects as files in one directory (next to `context.json`). Each write is atomic and
 * durable like the main document's; temp files start with a dot, which no object name does.
 */
export class FileNamedObjects implements NamedObjects {
  private tempCounter = 0;

  constructor(
    readonly directory: string,
    private readonly instanceTag: string,
  ) {}

  async save(name: string, document: unknown, signal?: AbortSignal): Promise<void> {
    const path = join(this.directory, checkObjectName(name));
    const text = serialiseCheckpoint(document);
    signal?.throwIfAborted();
    const temp = join(this.directory, `.tmp-${process.pid}-${this.instanceTag}${++this.tempCounter}`);
    try {
      await writeFileAtomically(this.directory, path, temp, text);
    } catch (error) {
      throw this.ioError('write', path, error);
    }
  }

  async load(name: string, signal?: AbortSignal): Promise<unknown> {
    const path = join(this.directory, checkObjectName(name));
    signal?.throwIfAborted();
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw this.ioError('read', path, error);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new CheckpointCorruptError(
        `The checkpoint file ${path} is not valid JSON. Delete the directory ${this.directory} together with the checkpoint next to it to restart collecting from the configured start time.`,
        { cause: error },
      );
    }
  }

  async list(prefix: string, signal?: AbortSignal): Promise<string[]> {
    signal?.throwIfAborted();
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw this.ioError('read', this.directory, error);
    }
    return names.filter((n) => !n.startsWith('.') && n.startsWith(prefix)).sort();
  }

  async remove(name: string, signal?: AbortSignal): Promise<void> {
    const path = join(this.directory, checkObjectName(name));
    signal?.throwIfAborted();
    try {
      await unlink(path);
      await syncDirectory(this.directory);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return;
      throw this.ioError('write', path, error);
    }
  }

  /** Temp files a killed process left behind (call before the first write). */
  async removeStaleTempFiles(): Promise<void> {
    const own = `.tmp-${process.pid}-${this.instanceTag}`;
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const stale = names.filter((n) => n.startsWith('.tmp-') && !n.startsWith(own));
    await Promise.all(stale.map((n) => unlink(join(this.directory, n)).catch(() => undefined)));
  }

  private ioError(operation: 'read' | 'write', path: string, cause: unknown): TransientError {
    const code = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
    return new TransientError(
      `Cannot ${operation} the checkpoint file ${path} (${code}). ` +
        'Check that the data directory exists, is writable by this user and that the disk is not full.',
      { cause },
    );
  }
}
