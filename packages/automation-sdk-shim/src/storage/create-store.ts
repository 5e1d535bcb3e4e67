import { join } from 'node:path';
import type { ConfigLoader } from '../config';
import { ConfigurationError } from '../errors';
import type { CheckpointStore } from './checkpoint-store';
import { FileCheckpointStore } from './file-store';
import { S3CheckpointStore, type S3Credentials } from './s3-store';

/**
 * The checkpoint store the platform configured, with the Python SDK's data-path rules:
 * `file_backend` = S3 (any case) → the bucket `aws_bucket_name`, else the local data path;
 * `sub_folder`, when set, is appended in both cases.
 */
export function createCheckpointStore(loader: ConfigLoader, fileName = 'context.json'): CheckpointStore {
  const subFolder = trimSlashes(loader.string('sub_folder') ?? '');
  if (loader.string('file_backend')?.toUpperCase() !== 'S3') {
    return new FileCheckpointStore({ directory: join(loader.dataPath, subFolder), fileName });
  }
  const bucket = loader.string('aws_bucket_name');
  if (bucket === undefined) {
    throw new ConfigurationError(
      'file_backend is S3 but aws_bucket_name is not set: set aws_bucket_name, or unset file_backend to keep checkpoints on the local data path.',
      { field: 'aws_bucket_name' },
    );
  }
  const credentials = s3Credentials(loader);
  const region = loader.string('aws_default_region');
  const endpoint = loader.string('aws_s3_endpoint_url');
  return new S3CheckpointStore({
    bucket,
    key: subFolder === '' ? fileName : `${subFolder}/${fileName}`,
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  });
}

/** Explicit keys, or undefined to let the AWS default chain (role, environment) decide. */
function s3Credentials(loader: ConfigLoader): S3Credentials | undefined {
  const accessKeyId = loader.string('aws_access_key_id');
  const secretAccessKey = loader.string('aws_secret_access_key');
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = accessKeyId === undefined ? 'aws_access_key_id' : 'aws_secret_access_key';
    throw new ConfigurationError(
      `${missing} is not set while its pair is: set both aws_access_key_id and aws_secret_access_key, or neither to use the instance role.`,
      { field: missing },
    );
  }
  const sessionToken = loader.string('aws_session_token');
  return sessionToken === undefined
    ? { accessKeyId, secretAccessKey }
    : { accessKeyId, secretAccessKey, sessionToken };
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}
