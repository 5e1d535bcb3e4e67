import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ConfigLoader } from '../src/config';
import { ConfigurationError, TransientError } from '../src/errors';
import { CheckpointCorruptError } from '../src/storage/checkpoint-store';
import { createCheckpointStore } from '../src/storage/create-store';
import { FileCheckpointStore } from '../src/storage/file-store';
import { S3CheckpointStore } from '../src/storage/s3-store';
import { S3RVER_CREDENTIALS, startS3, type RunningS3 } from './helpers/s3-server';

const BUCKET = 'checkpoints';

describe('S3CheckpointStore against s3rver', () => {
  let s3: RunningS3;

  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
  });

  afterAll(async () => {
    await s3.stop();
  });

  const store = (key: string, bucket = BUCKET): S3CheckpointStore =>
    new S3CheckpointStore({ bucket, key, client: s3.client() });

  it('round-trips a document under a sub_folder key', async () => {
    const document = { accepted_traffic: { last_timestamp: 1767225600, recent: ['a', 'b'] }, é: 'ünïcode' };
    await store('tenant-1/context.json').save(document);

    expect(await store('tenant-1/context.json').load()).toEqual(document);
    const raw = await s3
      .client()
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'tenant-1/context.json' }));
    expect(JSON.parse(await raw.Body!.transformToString())).toEqual(document);
  });

  it('returns undefined when the object was never written', async () => {
    expect(await store('never/written.json').load()).toBeUndefined();
  });

  it('serialises concurrent saves so the last call wins', async () => {
    const target = store('concurrent/context.json');
    await Promise.all(Array.from({ length: 8 }, (_, i) => target.save({ seq: i })));
    expect(await target.load()).toEqual({ seq: 7 });
  });

  it('refuses a corrupt object and keeps a .corrupt copy', async () => {
    await s3
      .client()
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/context.json', Body: '{"seq": 4' }));

    const error: unknown = await store('bad/context.json')
      .load()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CheckpointCorruptError);
    expect((error as CheckpointCorruptError).copyLocation).toBe(`s3://${BUCKET}/bad/context.json.corrupt`);
    const copy = await s3
      .client()
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'bad/context.json.corrupt' }));
    expect(await copy.Body!.transformToString()).toBe('{"seq": 4');
  });

  it('reports a missing bucket as a ConfigurationError naming aws_bucket_name', async () => {
    const error: unknown = await store('context.json', 'no-such-bucket')
      .load()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('aws_bucket_name');
    expect((error as Error).message).toContain('aws_bucket_name');
    expect((error as Error).message).toContain('no-such-bucket');
  });

  it('reports an unreachable server as a TransientError', async () => {
    const other = await startS3([BUCKET]);
    const target = new S3CheckpointStore({ bucket: BUCKET, key: 'context.json', client: other.client() });
    await target.save({ seq: 1 });
    await other.stop();

    await expect(target.load()).rejects.toBeInstanceOf(TransientError);
    await expect(target.save({ seq: 2 })).rejects.toBeInstanceOf(TransientError);
  });
});

describe('createCheckpointStore', () => {
  let s3: RunningS3;
  let volume: string;

  beforeAll(async () => {
    s3 = await startS3([BUCKET]);
    volume = await mkdtemp(join(tmpdir(), 'volume-'));
  });

  afterAll(async () => {
    await s3.stop();
    await rm(volume, { recursive: true, force: true });
  });

  const loader = (env: Record<string, string>): ConfigLoader =>
    new ConfigLoader({ volumePath: join(volume, 'absent'), dataPath: join(volume, 'data'), env });

  it.each(['S3', 's3', 'S3\n'])(
    'uses the bucket when file_backend is %j, with key <sub_folder>/<file>',
    async (backend) => {
      const chosen = createCheckpointStore(
        loader({
          FILE_BACKEND: backend,
          AWS_BUCKET_NAME: BUCKET,
          AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          AWS_S3_ENDPOINT_URL: s3.endpoint,
          SUB_FOLDER: '/trigger-42/',
        }),
      );

      expect(chosen).toBeInstanceOf(S3CheckpointStore);
      expect(chosen.describe()).toBe(`s3://${BUCKET}/trigger-42/context.json`);
      await chosen.save({ backend });
      expect(await store().load()).toEqual({ backend });

      function store(): S3CheckpointStore {
        return new S3CheckpointStore({ bucket: BUCKET, key: 'trigger-42/context.json', client: s3.client() });
      }
    },
  );

  it('uses a file in the data path (plus sub_folder) otherwise', async () => {
    const chosen = createCheckpointStore(loader({ FILE_BACKEND: 'local', SUB_FOLDER: 'sub' }), 'state.json');

    expect(chosen).toBeInstanceOf(FileCheckpointStore);
    expect(chosen.describe()).toBe(`file ${join(volume, 'data', 'sub', 'state.json')}`);
    await chosen.save({ ok: true });
    expect(
      await new FileCheckpointStore({
        directory: join(volume, 'data', 'sub'),
        fileName: 'state.json',
      }).load(),
    ).toEqual({ ok: true });
  });

  it('uses the data path itself without file_backend nor sub_folder', () => {
    const chosen = createCheckpointStore(loader({}));
    expect(chosen).toBeInstanceOf(FileCheckpointStore);
    expect(chosen.describe()).toBe(`file ${join(volume, 'data', 'context.json')}`);
  });

  it('requires aws_bucket_name with the S3 backend', () => {
    let error: unknown;
    try {
      createCheckpointStore(loader({ FILE_BACKEND: 's3' }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).field).toBe('aws_bucket_name');
  });

  it('reports a refused access as a ConfigurationError without the secret key', async () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    // s3rver does not check signatures: a stub answers the way AWS does to a wrong key.
    const stub = await startStubS3(
      403,
      '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
    );
    try {
      const chosen = createCheckpointStore(
        loader({
          FILE_BACKEND: 'S3',
          AWS_BUCKET_NAME: BUCKET,
          AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_S3_ENDPOINT_URL: stub.endpoint,
        }),
      );

      for (const attempt of [chosen.load(), chosen.save({ seq: 1 })]) {
        const error: unknown = await attempt.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toContain('Access denied to the object storage');
        expect((error as Error).message).toContain('aws_secret_access_key');
        expect((error as Error).message).not.toContain(secret);
        expect(JSON.stringify(error)).not.toContain(secret);
      }
    } finally {
      await stub.stop();
    }
  });

  it('reports a 503 from the object storage as a TransientError', async () => {
    const stub = await startStubS3(
      503,
      '<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>',
    );
    try {
      const target = new S3CheckpointStore({
        bucket: BUCKET,
        key: 'context.json',
        endpoint: stub.endpoint,
        credentials: S3RVER_CREDENTIALS,
        maxAttempts: 1,
      });
      await expect(target.load()).rejects.toBeInstanceOf(TransientError);
      await expect(target.save({ seq: 1 })).rejects.toBeInstanceOf(TransientError);
    } finally {
      await stub.stop();
    }
  });
});

/** An endpoint that answers every request with `status` and an S3 XML error body. */
async function startStubS3(
  status: number,
  xml: string,
): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'application/xml' }).end(xml);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
