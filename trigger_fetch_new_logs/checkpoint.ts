import { ConfigurationError, type CheckpointStore, type Logger } from '@sekoia/automation-sdk-shim';
import { parseIsoTime } from './iso-time';
import { STREAM_NAMES, type StreamName } from './streams';

/** A record identity with the time that decides whether it is still at a window edge. */
export type EdgeEntry = readonly [key: string, time: number];

/** Where a stream stands. Everything before `cursor` has been acknowledged by the intake. */
export interface StreamCheckpoint {
  /** Start of the next window, epoch ms. */
  cursor: number;
  /** The window being read, with the identities of its records already acknowledged. */
  window?: { start: number; end: number; delivered: string[] };
  /** Identities of the records at the end of the last window, which the next one re-reads. */
  edge: EdgeEntry[];
}

export const CHECKPOINT_VERSION = 2;

interface StoredStream {
  cursor: string;
  window?: { start: string; end: string; delivered: string[] };
  edge: [string, number | null][];
}

/**
 * The one `context.json` of the trigger: every stream's checkpoint in a single document,
 * saved after each acknowledged batch. Concurrent commits from the three streams coalesce
 * into serialized writes; a commit resolves once a write that includes it is durable.
 */
export class CheckpointBook {
  private readonly streams = new Map<StreamName, StreamCheckpoint>();
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(
    private readonly store: CheckpointStore,
    private readonly logger: Logger,
  ) {}

  /** Reads the stored document (ours, or the Python module's) into memory. */
  async load(signal?: AbortSignal): Promise<ReadonlyMap<StreamName, StreamCheckpoint>> {
    const document = await this.store.load(signal);
    for (const [name, checkpoint] of parseDocument(document, this.store.describe(), this.logger)) {
      this.streams.set(name, checkpoint);
    }
    return this.streams;
  }

  get(stream: StreamName): StreamCheckpoint | undefined {
    return this.streams.get(stream);
  }

  /** Records `checkpoint` for `stream` and resolves once it is durable. */
  commit(stream: StreamName, checkpoint: StreamCheckpoint, signal?: AbortSignal): Promise<void> {
    this.streams.set(stream, checkpoint);
    return this.save(signal);
  }

  private save(signal?: AbortSignal): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const previous = this.inFlight ?? Promise.resolve();
    const next: Promise<void> = previous
      .catch(() => undefined)
      .then(() => {
        // From here on, later commits queue behind this write; this one takes the state as of now.
        this.queued = undefined;
        this.inFlight = next;
        return this.store.save(this.serialize(), signal);
      })
      .finally(() => {
        if (this.inFlight === next) this.inFlight = undefined;
      });
    this.queued = next;
    return next;
  }

  serialize(): Record<string, unknown> {
    const streams: Record<string, StoredStream> = {};
    // Python-module readers (a downgrade) find `last_timestamp` where they expect it.
    const legacy: Record<string, { last_timestamp: number }> = {};
    for (const [name, c] of this.streams) {
      streams[name] = {
        cursor: iso(c.cursor),
        ...(c.window === undefined
          ? {}
          : {
              window: { start: iso(c.window.start), end: iso(c.window.end), delivered: c.window.delivered },
            }),
        edge: c.edge.map(([key, time]) => [key, Number.isFinite(time) ? time : null]),
      };
      legacy[name] = { last_timestamp: Math.floor((c.window?.start ?? c.cursor) / 1000) };
    }
    return { version: CHECKPOINT_VERSION, streams, ...legacy };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function parseDocument(document: unknown, where: string, logger: Logger): Map<StreamName, StreamCheckpoint> {
  const result = new Map<StreamName, StreamCheckpoint>();
  if (document === undefined || document === null) return result;
  if (typeof document !== 'object' || Array.isArray(document))
    throw unreadable(where, 'it is not a JSON object');
  const doc = document as Record<string, unknown>;
  if (doc.version === CHECKPOINT_VERSION) {
    const streams = (doc.streams ?? {}) as Record<string, unknown>;
    for (const name of STREAM_NAMES) {
      if (streams[name] !== undefined) result.set(name, parseStream(streams[name], name, where));
    }
    return result;
  }
  // The Python Trend Micro module's document: {"accepted_traffic": {"last_timestamp": <epoch s>, ...}}.
  for (const name of STREAM_NAMES) {
    const entry = doc[name] as { last_timestamp?: unknown } | undefined;
    if (typeof entry?.last_timestamp === 'number' && Number.isFinite(entry.last_timestamp)) {
      // Python resumed inclusively at this second; so do we (its dedup keys cannot be reused).
      result.set(name, { cursor: entry.last_timestamp * 1000, edge: [] });
      logger.log('info', `Resuming ${name} from the checkpoint of the Python Trend Micro module.`, {
        stream: name,
        cursor: iso(entry.last_timestamp * 1000),
      });
    }
  }
  if (result.size === 0 && Object.keys(doc).length > 0 && doc.version !== undefined) {
    throw unreadable(where, `its version ${JSON.stringify(doc.version)} is not one this module knows`);
  }
  return result;
}

function parseStream(value: unknown, name: StreamName, where: string): StreamCheckpoint {
  const stored = value as Partial<StoredStream> | null;
  const cursor = parseIsoTime(stored?.cursor);
  if (stored === null || cursor === undefined) throw unreadable(where, `"${name}" has no valid cursor`);
  const edge: EdgeEntry[] = Array.isArray(stored.edge)
    ? stored.edge
        .filter((e): e is [string, number | null] => Array.isArray(e) && typeof e[0] === 'string')
        .map(([key, t]) => [key, typeof t === 'number' ? t : Number.POSITIVE_INFINITY] as const)
    : [];
  const w = stored.window;
  const start = parseIsoTime(w?.start);
  const end = parseIsoTime(w?.end);
  if (w === undefined || start === undefined || end === undefined) return { cursor, edge };
  const delivered = Array.isArray(w.delivered) ? w.delivered.filter((k) => typeof k === 'string') : [];
  return { cursor, edge, window: { start, end, delivered } };
}

function unreadable(where: string, why: string): ConfigurationError {
  return new ConfigurationError(
    `The checkpoint ${where} cannot be used: ${why}. Fix it, or delete it to start again from "start_time" hours ago.`,
  );
}
