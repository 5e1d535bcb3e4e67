import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { inferStream, normalize } from '../trigger_fetch_new_logs/normalizer';
import { isObject } from '../trigger_fetch_new_logs/normalizer/fields';
import { STREAM_NAMES, type StreamName } from '../trigger_fetch_new_logs/streams';

export interface StreamFiles {
  /** The events as the intake received them (raw TMES records, one per line). */
  readonly raw: string;
  /** Side by side: the ECS document of each, by the same normalize() as the CLI command. */
  readonly ecs: string;
}

export function streamFiles(dir: string, stream: StreamName): StreamFiles {
  return { raw: join(dir, `${stream}.ndjson`), ecs: join(dir, `${stream}.ecs.ndjson`) };
}

interface Open {
  raw: FileHandle;
  ecs: FileHandle;
}

/**
 * The demo intake's disk: each acknowledged batch appended to ./out, one file per stream
 * (the stream is recognised from the record, as the normaliser does) plus its ECS twin.
 * Writes are serialised in arrival order, and a batch is acknowledged only once it is written,
 * so what the trigger counts as forwarded is exactly what the files hold.
 */
export class DemoOutput {
  private files: Partial<Record<StreamName, Open>> = {};
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly dir: string) {}

  /** Creates the directory and truncates this demo's files (nothing else in it is touched). */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const stream of STREAM_NAMES) {
      const paths = streamFiles(this.dir, stream);
      this.files[stream] = { raw: await open(paths.raw, 'w'), ecs: await open(paths.ecs, 'w') };
    }
  }

  /** Appends one intake batch; resolves once it is on disk (a rejection makes the intake answer 500). */
  write(events: readonly string[]): Promise<void> {
    const next = this.queue.then(() => this.append(events));
    this.queue = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.queue;
    for (const files of Object.values(this.files)) {
      await files.raw.close();
      await files.ecs.close();
    }
    this.files = {};
  }

  private async append(events: readonly string[]): Promise<void> {
    const batches = new Map<StreamName, { raw: string[]; ecs: string[] }>();
    for (const event of events) {
      const record = JSON.parse(event) as unknown;
      // The intake does not know streams; the record's shape tells them apart (as Sekoia's parser does).
      const stream = isObject(record) ? inferStream(record) : 'accepted_traffic';
      let batch = batches.get(stream);
      if (batch === undefined) {
        batch = { raw: [], ecs: [] };
        batches.set(stream, batch);
      }
      batch.raw.push(event);
      batch.ecs.push(JSON.stringify(normalize(record, stream)));
    }
    for (const [stream, batch] of batches) {
      const files = this.files[stream];
      if (files === undefined) throw new Error('The demo output is closed.');
      await files.raw.write(batch.raw.join('\n') + '\n');
      await files.ecs.write(batch.ecs.join('\n') + '\n');
    }
  }
}
