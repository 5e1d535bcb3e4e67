import {
  ConfigurationError,
  type CheckpointStore,
  type Logger,
  type NamedObjects,
} from '@sekoia/automation-sdk-shim';
import {
  CheckpointHeadSchema,
  storedTime as time,
  type StoredHead,
  type StoredStream,
} from './checkpoint-schema';
import { convertTimes } from './checkpoint-times';
import type { LedgerEntry } from './identity-ledger';
import { parseIsoTime } from './iso-time';
import { isStreamName, STREAM_NAMES, type StreamName } from './streams';

/** A range read once that a later pass reads again, for logs the API listed late. */
export interface RereadRange {
  start: number;
  end: number;
  /** Index (into the re-read schedule) of the next pass due for this range. */
  pass: number;
}

/** A minimal window that kept failing while the API worked: skipped for now, read again later. */
export interface SetAsideRange {
  start: number;
  end: number;
  /** The last error reading it (no secret: describeError of a typed error). */
  error: string;
  attempts: number;
  /** When to try it again, epoch ms. */
  retryAt: number;
}

/**
 * Where a stream stands. Everything before `cursor` has been acknowledged by the intake,
 * except ranges listed in `setAside`. The identities of what was delivered in the trailing
 * period live in the stream's ledger journal (see LedgerJournal), not here: this head stays
 * small whatever the traffic.
 */
export interface StreamCheckpoint {
  /** Start of the next window, epoch ms. */
  cursor: number;
  /** The window being read (its delivered records are in the ledger). */
  window?: { start: number; end: number };
  /** Ranges already read that re-read passes must read again (late logs). */
  rereads: RereadRange[];
  setAside: SetAsideRange[];
  /** Identities from a version-2 checkpoint, to journal once (then dropped). */
  migrated?: LedgerEntry[];
}

const CHECKPOINT_VERSION = 3;

/** The head's JSON Schema (schemas/checkpoint-head.schema.json), compiled once; it holds no state. */
const HEAD_SCHEMA = new CheckpointHeadSchema();

/**
 * The one `context.json` of the trigger: every stream's checkpoint in a single document,
 * saved when an acknowledged batch changes it. Concurrent commits from the three streams coalesce
 * into serialized writes; a commit resolves once a write that includes it is durable. A
 * document equal to the one last written is durable already: it is not written again (most
 * batches of a window leave the head as it was; their identities are in the ledger journal).
 */
export class CheckpointBook {
  private readonly streams = new Map<StreamName, StreamCheckpoint>();
  private inFlight: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  /** The JSON text of the last document the store saved (undefined: none, or it failed since). */
  private durable: string | undefined;

  constructor(
    private readonly store: CheckpointStore,
    private readonly logger: Logger,
  ) {}

  /** Reads the stored document (ours, or the Python module's) into memory. */
  async load(signal?: AbortSignal): Promise<ReadonlyMap<StreamName, StreamCheckpoint>> {
    const document = await this.store.load(signal);
    for (const [name, checkpoint] of readCheckpoint(document, this.store.describe(), this.logger)) {
      this.streams.set(name, checkpoint);
    }
    return this.streams;
  }

  /** Where the streams' ledger journals live: next to this document. */
  get objects(): NamedObjects {
    return this.store.objects;
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
        return this.write(signal);
      })
      .finally(() => {
        if (this.inFlight === next) this.inFlight = undefined;
      });
    this.queued = next;
    return next;
  }

  private async write(signal?: AbortSignal): Promise<void> {
    const document = this.serialize();
    const text = JSON.stringify(document);
    if (text === this.durable) return;
    // Until this save succeeds, what is on disk is not known to be the last document.
    this.durable = undefined;
    await this.store.save(document, signal);
    this.durable = text;
  }

  serialize(): Record<string, unknown> {
    const streams: Record<string, StoredStream> = {};
    // Python-module readers (a downgrade) find `last_timestamp` where they expect it.
    const legacy: Record<string, { last_timestamp: number }> = {};
    for (const [name, c] of this.streams) {
      streams[name] = convertTimes(c, iso);
      legacy[name] = { last_timestamp: Math.floor((c.window?.start ?? c.cursor) / 1000) };
    }
    return { version: CHECKPOINT_VERSION, streams, ...legacy };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Each stream's checkpoint in a stored document: this module's (version 3, checked against
 * schemas/checkpoint-head.schema.json), its version 2, or the Python module's. `where` names
 * the document in errors (a path, an S3 key). The CLI reads checkpoints through this too.
 * Throws ConfigurationError listing every problem, each with its field, and the fix.
 */
export function readCheckpoint(
  document: unknown,
  where: string,
  logger: Logger,
): Map<StreamName, StreamCheckpoint> {
  const result = new Map<StreamName, StreamCheckpoint>();
  if (document === undefined || document === null) return result;
  if (typeof document !== 'object' || Array.isArray(document))
    throw unreadable(where, 'it is not a JSON object');
  const doc = document as Record<string, unknown>;
  if (doc.version === CHECKPOINT_VERSION) {
    const checked = HEAD_SCHEMA.validate(doc);
    if (!checked.ok) throw unreadable(where, checked.problems);
    return fromHead(checked.head);
  }
  if (doc.version === 2) {
    if (typeof doc.streams !== 'object' || doc.streams === null || Array.isArray(doc.streams))
      throw unreadable(where, '"streams" is not an object');
    const streams = doc.streams as Record<string, unknown>;
    for (const name of Object.keys(streams)) {
      if (!isStreamName(name)) throw unreadable(where, `"streams" names an unknown stream "${name}"`);
      result.set(name, parseVersion2Stream(streams[name], name, where));
      logger.log(
        'info',
        `Resuming ${name} from a version-2 checkpoint (its identities move to the ledger journal).`,
        { stream: name },
      );
    }
    return result;
  }
  // The Python Trend Micro module's document: {"accepted_traffic": {"last_timestamp": <epoch s>, ...}}.
  for (const name of STREAM_NAMES) {
    const entry = doc[name] as { last_timestamp?: unknown } | undefined;
    if (typeof entry?.last_timestamp === 'number' && Number.isFinite(entry.last_timestamp)) {
      // Python resumed inclusively at this second; so do we (its dedup keys cannot be reused).
      result.set(name, { cursor: entry.last_timestamp * 1000, rereads: [], setAside: [] });
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

/** A head the schema accepted, in memory (its times are valid: the schema checked them). */
function fromHead(head: StoredHead): Map<StreamName, StreamCheckpoint> {
  const result = new Map<StreamName, StreamCheckpoint>();
  for (const [name, stored] of Object.entries(head.streams)) {
    if (stored === undefined || !isStreamName(name)) continue; // the schema lists the stream names
    result.set(name, convertTimes(stored, time));
  }
  return result;
}

/**
 * Version 2 kept the identities in the document: `window.delivered` (the window in progress)
 * and `edge` ([identity, time] at the last window's end). Each was delivered once (version 2
 * merged identical records), so each becomes a ledger entry with count 1.
 */
function parseVersion2Stream(value: unknown, name: StreamName, where: string): StreamCheckpoint {
  const stored = value as {
    cursor?: unknown;
    window?: { start?: unknown; end?: unknown; delivered?: unknown };
    edge?: unknown;
  } | null;
  const cursor = parseIsoTime(stored?.cursor);
  if (stored === null || cursor === undefined) throw unreadable(where, `"${name}" has no valid cursor`);
  const migrated: LedgerEntry[] = [];
  if (Array.isArray(stored.edge)) {
    for (const e of stored.edge as unknown[]) {
      if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
      const time = typeof e[1] === 'number' && Number.isFinite(e[1]) ? e[1] : cursor;
      migrated.push([e[0], 1, time]);
    }
  }
  const checkpoint: StreamCheckpoint = { cursor, rereads: [], setAside: [], migrated };
  const start = parseIsoTime(stored.window?.start);
  const end = parseIsoTime(stored.window?.end);
  if (start === undefined || end === undefined) return checkpoint;
  checkpoint.window = { start, end };
  const delivered = Array.isArray(stored.window?.delivered) ? (stored.window.delivered as unknown[]) : [];
  for (const key of delivered) if (typeof key === 'string') migrated.push([key, 1, end]);
  return checkpoint;
}

function unreadable(where: string, why: string | readonly string[]): ConfigurationError {
  const fix = 'Fix it, or delete it to start again from "start_time" hours ago.';
  if (typeof why === 'string')
    return new ConfigurationError(`The checkpoint ${where} cannot be used: ${why}. ${fix}`, {
      problems: [why],
    });
  const problems = [...why];
  return new ConfigurationError(
    `The checkpoint ${where} cannot be used (${problems.length} problem${problems.length === 1 ? '' : 's'}). ${fix}\n` +
      problems.map((p) => `- ${p}`).join('\n'),
    { problems },
  );
}
