import { randomBytes } from 'node:crypto';
import { copyFile, readFile, readdir, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TransientError } from '../errors';
import { errorCode, writeFileAtomically } from './atomic-file';
import { CheckpointCorruptError, type CheckpointStore } from './checkpoint-store';
import { FileNamedObjects } from './file-objects';

export interface FileCheckpointStoreOptions {
  /** The data path (created on first save). */
  directory: string;
  fileName?: string;
}

/**
 * The checkpoint as a local JSON file. A crash at any moment leaves the old or the new
 * document, never a truncated one (temp file + fsync + rename + directory fsync), and a
 * corrupt file stops the trigger instead of silently restarting from scratch.
 */
export class FileCheckpointStore implements CheckpointStore {
  readonly path: string;
  private readonly directory: string;
  /** Saves run one after the other in call order, so the last call wins. */
  private queue: Promise<void> = Promise.resolve();
  /** Distinguishes the temp files of several stores in one process. */
  private readonly instanceTag = randomBytes(3).toString('hex');
  private tempCounter = 0;

  /** Named objects in a directory next to the document: `<fileName>.d/`. */
  readonly objects: FileNamedObjects;

  constructor(options: FileCheckpointStoreOptions) {
    this.directory = options.directory;
    this.path = join(options.directory, options.fileName ?? 'context.json');
    this.objects = new FileNamedObjects(`${this.path}.d`, this.instanceTag);
  }

  async load(signal?: AbortSignal): Promise<unknown> {
    signal?.throwIfAborted();
    await this.removeStaleTempFiles();
    await this.objects.removeStaleTempFiles();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw this.ioError('read', error);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw await this.corrupt(error);
    }
  }

  async save(document: unknown, signal?: AbortSignal): Promise<void> {
    // Serialise now: later mutations of `document` by the caller must not change what is written.
    const text = serialiseCheckpoint(document);
    const run = this.queue.then(() => {
      signal?.throwIfAborted();
      return this.write(text);
    });
    // The chain survives a failed save; the caller still sees its own failure.
    this.queue = run.catch(() => undefined);
    await run;
  }

  describe(): string {
    return `file ${this.path}`;
  }

  private async write(text: string): Promise<void> {
    const temp = `${this.path}.tmp-${process.pid}-${this.instanceTag}${++this.tempCounter}`;
    try {
      await writeFileAtomically(this.directory, this.path, temp, text);
    } catch (error) {
      throw this.ioError('write', error);
    }
  }

  /**
   * A process killed mid-save leaves its temp file behind; a restart loop would pile them up.
   * Only other instances' files are removed: this one's may be in flight. The instance tag
   * matters in containers, where every restart is PID 1 again.
   */
  private async removeStaleTempFiles(): Promise<void> {
    const prefix = `${basename(this.path)}.tmp-`;
    const own = `${prefix}${process.pid}-${this.instanceTag}`;
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const stale = names.filter((name) => name.startsWith(prefix) && !name.startsWith(own));
    await Promise.all(stale.map((name) => unlink(join(this.directory, name)).catch(() => undefined)));
  }

  private async corrupt(cause: unknown): Promise<CheckpointCorruptError> {
    const copy = `${this.path}.corrupt`;
    const kept = await copyFile(this.path, copy).then(
      () => true,
      () => false,
    );
    const where = kept ? `A copy was kept at ${copy}. ` : '';
    return new CheckpointCorruptError(
      `The checkpoint file ${this.path} is not valid JSON. ${where}` +
        'Fix the file, or delete it to restart collecting from the configured start time.',
      { cause, ...(kept ? { copyLocation: copy } : {}) },
    );
  }

  private ioError(operation: 'read' | 'write', cause: unknown): TransientError {
    const code = errorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
    return new TransientError(
      `Cannot ${operation} the checkpoint file ${this.path} (${code}). ` +
        'Check that the data directory exists, is writable by this user and that the disk is not full.',
      { cause },
    );
  }
}

/** JSON text of a checkpoint; `undefined` or a function cannot be one. */
export function serialiseCheckpoint(document: unknown): string {
  const text = JSON.stringify(document) as string | undefined;
  if (text === undefined) throw new TypeError('A checkpoint must be a JSON value, got undefined');
  return text;
}
