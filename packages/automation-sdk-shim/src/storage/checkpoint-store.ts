import { ConfigurationError } from '../errors';

/**
 * Where a trigger keeps its small JSON state document (`context.json`). Implementations:
 * a local file written atomically, and an object in an S3-compatible bucket.
 */
export interface CheckpointStore {
  /** The stored document, or undefined when none was ever written. Corrupt content throws. */
  load(signal?: AbortSignal): Promise<unknown>;
  /** Replaces the document. Resolves only once it is durable. */
  save(document: unknown, signal?: AbortSignal): Promise<void>;
  /** Where it lives, for messages (never contains credentials). */
  describe(): string;
}

/**
 * The stored checkpoint is not valid JSON. Never a silent reset (which would skip or re-read
 * data): the user decides, so it is a configuration problem naming the file and its copy.
 */
export class CheckpointCorruptError extends ConfigurationError {
  /** Where the corrupt content was copied, when the copy could be made. */
  readonly copyLocation: string | undefined;

  constructor(message: string, options: { copyLocation?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause, field: 'checkpoint' });
    this.copyLocation = options.copyLocation;
  }
}

/** In-memory store, for unit tests. */
export class MemoryCheckpointStore implements CheckpointStore {
  document: unknown;
  saves = 0;

  constructor(initial?: unknown) {
    this.document = initial === undefined ? undefined : structuredClone(initial);
  }

  load(): Promise<unknown> {
    return Promise.resolve(this.document === undefined ? undefined : structuredClone(this.document));
  }

  save(document: unknown): Promise<void> {
    this.document = structuredClone(document);
    this.saves++;
    return Promise.resolve();
  }

  describe(): string {
    return 'memory';
  }
}
