import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `text` to `path` so that a crash at any moment leaves the old or the new content,
 * never a truncated file: temp file + fsync + rename + directory fsync.
 */
export async function writeFileAtomically(
  directory: string,
  path: string,
  temp: string,
  text: string,
): Promise<void> {
  try {
    const handle = await openCreatingDirectory(directory, temp);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(directory);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/**
 * Opens `temp` for writing; creates `directory` only when the open says it is missing. A
 * mkdir before every write cost a system call per save, and saves come after every batch.
 */
async function openCreatingDirectory(directory: string, temp: string): Promise<FileHandle> {
  try {
    return await open(temp, 'w', 0o600);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  await mkdir(directory, { recursive: true });
  // The new directory's own entry made durable, or a power loss could take it with every file
  // saved in it since.
  await syncDirectory(dirname(directory));
  return open(temp, 'w', 0o600);
}

/** Makes a rename or unlink itself durable. Some file systems cannot fsync a directory: not an error. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(errorCode(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
