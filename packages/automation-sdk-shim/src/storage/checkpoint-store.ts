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
