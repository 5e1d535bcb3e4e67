import { checkObjectName, type CheckpointStore, type NamedObjects } from '../storage/checkpoint-store';

/** Named objects in memory (unit tests, the demo). Counts writes and bytes for tests. */
export class MemoryNamedObjects implements NamedObjects {
  readonly objects = new Map<string, string>();
  saves = 0;
  bytesWritten = 0;

  async save(name: string, document: unknown): Promise<void> {
    await Promise.resolve();
    checkObjectName(name);
    const text = JSON.stringify(document) as string | undefined;
    if (text === undefined) throw new TypeError('A checkpoint object must be a JSON value');
    this.objects.set(name, text);
    this.saves++;
    this.bytesWritten += Buffer.byteLength(text);
  }

  async load(name: string): Promise<unknown> {
    await Promise.resolve();
    const text = this.objects.get(checkObjectName(name));
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  }

  async list(prefix: string): Promise<string[]> {
    await Promise.resolve();
    return [...this.objects.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  async remove(name: string): Promise<void> {
    await Promise.resolve();
    this.objects.delete(checkObjectName(name));
  }
}

/** In-memory store, for unit tests. */
export class MemoryCheckpointStore implements CheckpointStore {
  document: unknown;
  saves = 0;
  readonly objects = new MemoryNamedObjects();

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
