import { attachment } from './ecs';

/** A file a record names: by name, by hash, or both (attachments, detail files). */
export interface FileRef {
  name: string | undefined;
  sha256: string | undefined;
}

/** email.attachments: one entry per file that names something, or undefined when none does. */
export function attachmentList(files: readonly FileRef[] | undefined): { file: object }[] | undefined {
  const list = (files ?? [])
    .map(({ name, sha256 }) => attachment(name, sha256))
    .filter((a) => a !== undefined);
  return list.length === 0 ? undefined : list;
}
