import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransientError } from '../src/errors';
import { CheckpointCorruptError } from '../src/storage/checkpoint-store';
import { FileCheckpointStore } from '../src/storage/file-store';
import { spawnCheckpointWriter } from './helpers/checkpoint-writer';

describe('FileCheckpointStore', () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'file-store-'));
  });

  afterEach(async () => {
    await chmod(directory, 0o700).catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  });

  it('round-trips a document, creating the directory, and leaves no temp file', async () => {
    const nested = join(directory, 'data', 'sub');
    const document = { accepted_traffic: { last_timestamp: 1767225600 }, list: [1, 'two', null], é: 'ü' };

    await new FileCheckpointStore({ directory: nested }).save(document);

    expect(await new FileCheckpointStore({ directory: nested }).load()).toEqual(document);
    expect(await readdir(nested)).toEqual(['context.json']);
  });

  it('creates the directory again when it was removed between two saves', async () => {
    const nested = join(directory, 'data');
    const store = new FileCheckpointStore({ directory: nested });
    await store.save({ n: 1 });
    await rm(nested, { recursive: true });
    await store.save({ n: 2 });
    expect(await store.load()).toEqual({ n: 2 });
  });

  it('returns undefined when nothing was ever saved', async () => {
    expect(await new FileCheckpointStore({ directory, fileName: 'state.json' }).load()).toBeUndefined();
  });

  it('refuses a corrupt file, keeps a .corrupt copy and leaves the original untouched', async () => {
    const path = join(directory, 'context.json');
    await writeFile(path, '{"accepted_traffic": {"last_timest');

    const error: unknown = await new FileCheckpointStore({ directory }).load().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CheckpointCorruptError);
    const message = (error as Error).message;
    expect(message).toContain(path);
    expect(message).toContain(`${path}.corrupt`);
    expect(message).toMatch(/delete it/);
    expect((error as CheckpointCorruptError).copyLocation).toBe(`${path}.corrupt`);
    expect(await readFile(`${path}.corrupt`, 'utf8')).toBe('{"accepted_traffic": {"last_timest');
    expect(await readFile(path, 'utf8')).toBe('{"accepted_traffic": {"last_timest');
  });

  it('serialises concurrent saves in call order: the last call wins', async () => {
    const store = new FileCheckpointStore({ directory });
    // Big documents first, so an unserialised write of an early call would finish last.
    const saves = Array.from({ length: 10 }, (_, i) =>
      store.save({ seq: i, padding: 'x'.repeat((10 - i) * 100_000) }),
    );
    await Promise.all(saves);

    const loaded = (await store.load()) as { seq: number };
    expect(loaded.seq).toBe(9);
    expect(await readdir(directory)).toEqual(['context.json']);
  });

  it('writes the document as it was when save() was called', async () => {
    const store = new FileCheckpointStore({ directory });
    const document = { seq: 1 };
    const saving = store.save(document);
    document.seq = 2;
    await saving;
    expect(await store.load()).toEqual({ seq: 1 });
  });

  it('keeps working after a failed save', async () => {
    const store = new FileCheckpointStore({ directory });
    await expect(store.save(undefined)).rejects.toThrow(TypeError);
    await store.save({ seq: 3 });
    expect(await store.load()).toEqual({ seq: 3 });
  });

  it('removes temp files left by a killed process when loading', async () => {
    const store = new FileCheckpointStore({ directory });
    await store.save({ seq: 1 });
    await writeFile(join(directory, 'context.json.tmp-999999-abc1'), '{"seq": 2, "trunc');
    await writeFile(join(directory, 'unrelated.json.tmp-999999-abc1'), 'kept');

    expect(await store.load()).toEqual({ seq: 1 });
    expect((await readdir(directory)).sort()).toEqual(['context.json', 'unrelated.json.tmp-999999-abc1']);
  });

  it('reports an unwritable location as a TransientError naming the path', async () => {
    const blocker = join(directory, 'not-a-directory');
    await writeFile(blocker, 'x');
    const store = new FileCheckpointStore({ directory: join(blocker, 'data') });

    const error: unknown = await store.save({ seq: 1 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain(join(blocker, 'data', 'context.json'));
    await expect(store.load()).rejects.toBeInstanceOf(TransientError);
  });
});

describe('FileCheckpointStore under SIGKILL', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'file-store-kill-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('always leaves the old or the new document, never a broken one', async () => {
    const rounds = 20;
    let previousSeq = 0;
    for (let round = 0; round < rounds; round++) {
      const child = spawnCheckpointWriter(directory);
      // Kill after 1 to 3 durable saves, plus 0 to 6 ms, to land in different phases of a write.
      const reported = await killAfterSaves(child, 1 + (round % 3), (round * 3) % 7);

      const loaded = (await new FileCheckpointStore({ directory }).load()) as {
        seq: number;
        tail: number;
        padding: string;
      };
      expect(loaded.tail).toBe(loaded.seq);
      expect(loaded.padding).toHaveLength(1024 * 1024);
      // What the child reported durable is there (or newer), and nothing ever goes backwards.
      expect(loaded.seq).toBeGreaterThanOrEqual(reported);
      expect(loaded.seq).toBeGreaterThan(previousSeq);
      previousSeq = loaded.seq;
    }
    expect(previousSeq).toBeGreaterThanOrEqual(rounds);
    // Temp files of killed writers were removed by the next load().
    expect(await readdir(directory)).toEqual(['context.json']);
  }, 20_000);
});

/** Resolves with the last seq the child reported durable, once it was SIGKILLed and exited. */
function killAfterSaves(child: ChildProcess, saves: number, extraMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let lastSeq = 0;
    let stderr = '';
    let buffered = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        lastSeq = Number(line.replace('saved ', ''));
        if (++seen === saves) setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(lastSeq);
      else reject(new Error(`the writer exited by itself (${String(signal)}): ${stderr}`));
    });
  });
}
