import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CheckpointCorruptError, type CheckpointStore } from '../src/storage/checkpoint-store';
import { MemoryCheckpointStore } from '../src/testing';
import { FileCheckpointStore } from '../src/storage/file-store';
import { S3CheckpointStore } from '../src/storage/s3-store';
import { startS3, type RunningS3 } from './helpers/s3-server';

const BUCKET = 'named-objects';

/** The contract every store's named objects keep, whatever holds them. */
function describeNamedObjects(kind: string, makeStore: () => Promise<CheckpointStore>): void {
  describe(`${kind}: named objects next to the checkpoint`, () => {
    it('saves, loads, lists by prefix (sorted) and removes objects, apart from the main document', async () => {
      const store = await makeStore();
      await store.save({ head: true });
      await store.objects.save('journal.a.0002', [['k', 2, 5]]);
      await store.objects.save('journal.a.0001', [['k', 1, 5]]);
      await store.objects.save('journal.b.0001', { other: 'stream' });

      expect(await store.objects.list('journal.a.')).toEqual(['journal.a.0001', 'journal.a.0002']);
      expect(await store.objects.list('')).toEqual(['journal.a.0001', 'journal.a.0002', 'journal.b.0001']);
      expect(await store.objects.load('journal.a.0002')).toEqual([['k', 2, 5]]);
      expect(await store.objects.load('never-written')).toBeUndefined();

      await store.objects.remove('journal.a.0001');
      await store.objects.remove('journal.a.0001'); // removing twice is not an error
      expect(await store.objects.list('journal.a.')).toEqual(['journal.a.0002']);
      expect(await store.load()).toEqual({ head: true });
    });

    it('replaces an object on save and refuses unsafe names', async () => {
      const store = await makeStore();
      await store.objects.save('snapshot', { seq: 1 });
      await store.objects.save('snapshot', { seq: 2 });
      expect(await store.objects.load('snapshot')).toEqual({ seq: 2 });
      for (const bad of ['../escape', 'a/b', '', '.hidden', 'x'.repeat(201)]) {
        await expect(store.objects.save(bad, {})).rejects.toThrow(TypeError);
      }
    });
  });
}

describeNamedObjects('memory', () => Promise.resolve(new MemoryCheckpointStore()));

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((d) => rm(d, { recursive: true, force: true })));
});

describeNamedObjects('file', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'named-objects-'));
  directories.push(directory);
  return new FileCheckpointStore({ directory });
});

describe('file: named objects on disk', () => {
  it('live in a directory next to context.json, leave no temp file, and a corrupt one is refused', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'named-objects-'));
    directories.push(directory);
    const store = new FileCheckpointStore({ directory });
    await store.objects.save('a', [1]);
    expect(await readdir(join(directory, 'context.json.d'))).toEqual(['a']);
    await writeFile(join(directory, 'context.json.d', 'b'), '[1,');
    await expect(store.objects.load('b')).rejects.toBeInstanceOf(CheckpointCorruptError);
  });

  it('removes temp files a killed process left behind when the checkpoint is loaded', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'named-objects-'));
    directories.push(directory);
    await new FileCheckpointStore({ directory }).objects.save('a', [1]);
    await writeFile(join(directory, 'context.json.d', '.tmp-1-dead001'), '[');
    const store = new FileCheckpointStore({ directory });
    await store.load();
    expect(await readdir(join(directory, 'context.json.d'))).toEqual(['a']);
    expect(await store.objects.list('')).toEqual(['a']);
  });
});

describe('s3 (s3rver)', () => {
  let s3: RunningS3;
  let n = 0;
  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
  });
  afterAll(async () => {
    await s3.stop();
  });

  describeNamedObjects('s3', () =>
    Promise.resolve(
      new S3CheckpointStore({ bucket: BUCKET, key: `t${++n}/context.json`, client: s3.client() }),
    ),
  );

  it('keeps the objects under the prefix <key>.d/', async () => {
    const store = new S3CheckpointStore({
      bucket: BUCKET,
      key: 'prefixed/context.json',
      client: s3.client(),
    });
    await store.objects.save('journal.1', [1]);
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'prefixed/' }));
    expect(listed.Contents?.map((c) => c.Key)).toEqual(['prefixed/context.json.d/journal.1']);
  });
});
