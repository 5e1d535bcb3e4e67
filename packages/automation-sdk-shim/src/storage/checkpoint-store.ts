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
  /** Named JSON objects kept next to the document (journals, snapshots), in the same place. */
  readonly objects: NamedObjects;
}

/**
 * A small set of named JSON objects living next to the checkpoint document: what a trigger
 * needs to keep state whose size it does not want to rewrite on every save (an append-only
 * journal and its snapshots). Each object is written atomically and durably; names are
 * `[A-Za-z0-9._-]`, at most 200 characters, not starting with a dot.
 */
export interface NamedObjects {
  /** Writes (replaces) the object; resolves once it is durable. */
  save(name: string, document: unknown, signal?: AbortSignal): Promise<void>;
  /** The object, or undefined when there is none. Corrupt content throws. */
  load(name: string, signal?: AbortSignal): Promise<unknown>;
  /** Names of the objects starting with `prefix`, sorted. */
  list(prefix: string, signal?: AbortSignal): Promise<string[]>;
  /** Removes the object; removing one that does not exist is not an error. */
  remove(name: string, signal?: AbortSignal): Promise<void>;
}

const OBJECT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/** Throws on a name that is not safe as a file name and an object key alike. */
export function checkObjectName(name: string): string {
  if (!OBJECT_NAME.test(name)) {
    throw new TypeError(
      `Invalid checkpoint object name ${JSON.stringify(name)}: use [A-Za-z0-9._-], 1-200 characters, not starting with a dot`,
    );
  }
  return name;
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
