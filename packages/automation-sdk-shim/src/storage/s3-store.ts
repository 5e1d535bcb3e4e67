import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, TransientError, isAbort } from '../errors';
import {
  checkObjectName,
  CheckpointCorruptError,
  type CheckpointStore,
  type NamedObjects,
} from './checkpoint-store';
import { serialiseCheckpoint } from './file-store';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3CheckpointStoreOptions {
  bucket: string;
  /** Object key, e.g. `sub/folder/context.json`. */
  key: string;
  region?: string;
  /** S3-compatible endpoint (MinIO, Ceph, OVH…); implies path-style addressing unless told otherwise. */
  endpoint?: string;
  /** Absent: the AWS default provider chain (environment, instance role…). */
  credentials?: S3Credentials;
  forcePathStyle?: boolean;
  /** SDK-level attempts per request (default 3); longer retries belong to the caller. */
  maxAttempts?: number;
  /** A ready client (tests, custom TLS); the options above are then ignored. */
  client?: S3Client;
}

/** Codes that mean "try again later", whatever the status says. */
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'Throttling',
]);

/**
 * The checkpoint as one object in an S3-compatible bucket. A PUT replaces the object
 * atomically, so a crash never leaves half a document. Errors are classified: wrong
 * credentials or bucket are configuration problems, outages are transient.
 */
export class S3CheckpointStore implements CheckpointStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;
  private queue: Promise<void> = Promise.resolve();
  /** Named objects under the prefix `<key>.d/`. */
  readonly objects: NamedObjects;

  constructor(options: S3CheckpointStoreOptions) {
    this.bucket = options.bucket;
    this.key = options.key;
    this.client = options.client ?? buildClient(options);
    this.objects = this.namedObjects(`${this.key}.d/`);
  }

  private namedObjects(prefix: string): NamedObjects {
    return {
      save: async (name, document, signal) => {
        await this.write(prefix + checkObjectName(name), serialiseCheckpoint(document), signal);
      },
      load: async (name, signal) => {
        const key = prefix + checkObjectName(name);
        const text = await this.read(key, signal);
        if (text === undefined) return undefined;
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new CheckpointCorruptError(
            `The checkpoint object s3://${this.bucket}/${key} is not valid JSON. Delete the objects under s3://${this.bucket}/${prefix} together with ${this.describe()} to restart collecting from the configured start time.`,
            { cause: error },
          );
        }
      },
      list: (namePrefix, signal) => this.listKeys(prefix, namePrefix, signal),
      remove: async (name, signal) => {
        const key = prefix + checkObjectName(name);
        try {
          await this.client.send(new (awsSdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: key }), {
            abortSignal: signal,
          });
        } catch (error) {
          if (isMissingObject(error)) return;
          throw this.classify('write', error, signal);
        }
      },
    };
  }

  private async listKeys(prefix: string, namePrefix: string, signal?: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new (awsSdk().ListObjectsV2Command)({
            Bucket: this.bucket,
            Prefix: prefix + namePrefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
          { abortSignal: signal },
        );
        for (const item of page.Contents ?? []) {
          if (item.Key !== undefined) names.push(item.Key.slice(prefix.length));
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw this.classify('read', error, signal);
    }
    return names.sort();
  }

  async load(signal?: AbortSignal): Promise<unknown> {
    const text = await this.read(this.key, signal);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw await this.corrupt(text, error, signal);
    }
  }

  async save(document: unknown, signal?: AbortSignal): Promise<void> {
    const text = serialiseCheckpoint(document);
    // In call order, so the last save wins even if an earlier PUT is slower.
    const run = this.queue.then(() => this.write(this.key, text, signal));
    this.queue = run.catch(() => undefined);
    await run;
  }

  describe(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  private async read(key: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const response = await this.client.send(
        new (awsSdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }),
        { abortSignal: signal },
      );
      return response.Body === undefined ? '' : await response.Body.transformToString('utf8');
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw this.classify('read', error, signal);
    }
  }

  private async write(key: string, text: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    try {
      await this.client.send(
        new (awsSdk().PutObjectCommand)({
          Bucket: this.bucket,
          Key: key,
          Body: text,
          ContentType: 'application/json',
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw this.classify('write', error, signal);
    }
  }

  private async corrupt(text: string, cause: unknown, signal?: AbortSignal): Promise<CheckpointCorruptError> {
    const copyKey = `${this.key}.corrupt`;
    const kept = await this.write(copyKey, text, signal).then(
      () => true,
      () => false,
    );
    const copy = `s3://${this.bucket}/${copyKey}`;
    return new CheckpointCorruptError(
      `The checkpoint object ${this.describe()} is not valid JSON. ${kept ? `A copy was kept at ${copy}. ` : ''}` +
        'Fix the object, or delete it to restart collecting from the configured start time.',
      { cause, ...(kept ? { copyLocation: copy } : {}) },
    );
  }

  /** Messages use only the S3 error code and status: SDK messages may echo request details. */
  private classify(operation: 'read' | 'write', error: unknown, signal?: AbortSignal): Error {
    if (isAbort(error, signal)) return error instanceof Error ? error : new Error(String(error));
    const { code, status } = describeS3Error(error);
    const what = `Cannot ${operation} the checkpoint ${this.describe()}`;
    const detail = status === undefined ? code : `${code}, HTTP ${status}`;
    if (code === 'NoSuchBucket') {
      return new ConfigurationError(
        `${what}: the bucket "${this.bucket}" does not exist. Check the aws_bucket_name setting (and aws_s3_endpoint_url).`,
        { field: 'aws_bucket_name', cause: error },
      );
    }
    if (
      status === 403 ||
      code === 'AccessDenied' ||
      code === 'InvalidAccessKeyId' ||
      code === 'SignatureDoesNotMatch'
    ) {
      return new ConfigurationError(
        `${what} (${detail}). Access denied to the object storage: check aws_access_key_id / aws_secret_access_key and the bucket policy.`,
        { field: 'aws_access_key_id', cause: error },
      );
    }
    if (status === undefined || status >= 500 || TRANSIENT_CODES.has(code)) {
      return new TransientError(`${what} (${detail}): the object storage is unavailable; will retry.`, {
        cause: error,
      });
    }
    return new ConfigurationError(
      `${what} (${detail}). Check the aws_default_region, aws_s3_endpoint_url and aws_bucket_name settings.`,
      { cause: error },
    );
  }
}

/**
 * The AWS SDK, loaded on first use: loading it costs ~20 MB of resident memory, which every
 * trigger keeping its checkpoint in a local file would otherwise pay for nothing.
 */
function awsSdk(): typeof import('@aws-sdk/client-s3') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  return require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
}

function buildClient(options: S3CheckpointStoreOptions): S3Client {
  return new (awsSdk().S3Client)({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    // S3-compatible servers rarely resolve virtual-hosted bucket names.
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    maxAttempts: options.maxAttempts ?? 3,
    // Many S3-compatible servers reject the newer default checksum headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000 },
  });
}

function isMissingObject(error: unknown): boolean {
  const { code, status } = describeS3Error(error);
  return code === 'NoSuchKey' || (status === 404 && code !== 'NoSuchBucket');
}

/** The S3 error code (or network error code) and HTTP status, nothing that could hold a credential. */
function describeS3Error(error: unknown): { code: string; status: number | undefined } {
  const e = error as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const candidates = [e.Code, e.code, e.name].filter(
    (c): c is string => typeof c === 'string' && c !== 'Error',
  );
  return { code: candidates[0] ?? 'network error', status };
}
