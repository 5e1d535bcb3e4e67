import { InvariantError } from './errors';

/**
 * Intake request bodies: `{"intake_key": K, "jsons": [event, …]}`, split into bodies of at most
 * `maxBodyBytes` UTF-8 bytes, each event at most `maxEventBytes`. Sizes are exact: the escaped
 * UTF-8 form of every event is what is measured, so quotes and multi-byte text stay within limits.
 */

/**
 * One request's worth of events: their positions in the pushed list and the exact size of the
 * body they make.
 */
export interface IntakeChunk {
  /** Position in the pushed list of each event of the request, in body order. */
  indexes: number[];
  bodyBytes: number;
}

/**
 * A chunk with its body, written once (the bytes sent, and sent again on a retry), or the
 * InvariantError saying it could not be written as measured (a bug: the chunk is not sent).
 */
export interface EncodedChunk extends IntakeChunk {
  body: Buffer | InvariantError;
  /** The buffer `body` was written in (from BodyBuffers when given one): give it back once sent. */
  backing?: Buffer;
}

/**
 * Request bodies' buffers kept for the next requests. A body of a few MiB is above the C
 * allocator's mmap threshold (the image sets it to 128 KiB): a fresh one per request was mapped,
 * faulted in page by page as it was written, and unmapped (about 450 page faults and a munmap
 * per 2 MiB body: a third of the trigger's page faults). Each buffer serves one body at a time
 * (taken, then given back once its requests are over). What is kept stays resident, so it is
 * bounded (`keep` buffers, `maxKeptBytes` in all), and a buffer too small for the body asked for
 * is let go of rather than kept beside the larger one allocated instead.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  constructor(
    private readonly keep: number,
    private readonly maxKeptBytes = 2 * 1024 * 1024,
  ) {}

  /** Buffers kept now, free for the next bodies. */
  get kept(): number {
    return this.free.length;
  }

  /**
   * A buffer of at least `bytes` (contents undefined): the smallest kept one large enough, or a
   * new one, its size rounded up so that bodies of about the same size share it (pages never
   * written are never resident).
   */
  take(bytes: number): Buffer {
    let best = -1;
    this.free.forEach((buffer, i) => {
      if (buffer.length >= bytes && (best < 0 || buffer.length < (this.free[best]?.length ?? 0))) best = i;
    });
    if (best < 0) {
      // None fits: the largest kept one is let go (it would stay beside the new one).
      const largest = this.free.reduce((max, b, i, all) => (b.length > (all[max]?.length ?? 0) ? i : max), 0);
      this.remove(largest);
      return Buffer.allocUnsafe(Math.ceil(bytes / ROUND_BYTES) * ROUND_BYTES);
    }
    return this.remove(best) ?? Buffer.allocUnsafe(bytes);
  }

  /** `buffer` is no longer used by anything: kept for a later body, within the bounds. */
  give(buffer: Buffer): void {
    if (this.free.length >= this.keep || this.freeBytes + buffer.length > this.maxKeptBytes) return;
    this.free.push(buffer);
    this.freeBytes += buffer.length;
  }

  private remove(index: number): Buffer | undefined {
    const [buffer] = this.free.splice(index, 1);
    if (buffer !== undefined) this.freeBytes -= buffer.length;
    return buffer;
  }
}

/** BodyBuffers' sizes are multiples of this. */
const ROUND_BYTES = 256 * 1024;

export interface OversizedEvent {
  /** Position in the pushed list. */
  index: number;
  /** UTF-8 size of the event string. */
  bytes: number;
}

export interface ChunkLimits {
  maxBodyBytes: number;
  maxEventBytes: number;
}

/**
 * Events are JSON-encoded a group at a time: one native JSON.stringify of a few dozen strings
 * instead of one call (and one short-lived string) per event. Groups stay well under V8's
 * large-object size, so their text dies young.
 */
const GROUP_EVENTS = 64;
const GROUP_CHARS = 32_768;
const COMMA = 0x2c;
const CLOSING_BRACE = 0x7d;
/** The longest UTF-8 character: see writeParts. */
const SPARE_BODY_BYTES = 4;

/**
 * The reference definition of the split: events greedily into bodies of at most `maxBodyBytes`,
 * counting the exact bytes of the body that will be sent: envelope + each JSON-encoded event +
 * the commas between them. An event over `maxEventBytes`, or too large for any body, is
 * oversized. encodeChunks makes the same split (a property test holds them equal).
 */
export function planChunks(
  events: readonly string[],
  envelopeBytes: number,
  limits: ChunkLimits,
): { batches: IntakeChunk[]; oversized: OversizedEvent[] } {
  const batches: IntakeChunk[] = [];
  const oversized: OversizedEvent[] = [];
  let current: IntakeChunk = { indexes: [], bodyBytes: envelopeBytes };
  events.forEach((event, index) => {
    const bytes = Buffer.byteLength(event);
    const cost = encodedBytes(event);
    if (bytes > limits.maxEventBytes || envelopeBytes + cost > limits.maxBodyBytes) {
      oversized.push({ index, bytes });
      return;
    }
    if (current.indexes.length > 0 && current.bodyBytes + 1 + cost > limits.maxBodyBytes) {
      batches.push(current);
      current = { indexes: [], bodyBytes: envelopeBytes };
    }
    current.bodyBytes += (current.indexes.length > 0 ? 1 : 0) + cost;
    current.indexes.push(index);
  });
  if (current.indexes.length > 0) batches.push(current);
  return { batches, oversized };
}

/** UTF-8 bytes of `event` once JSON-encoded as a string of the body. */
export function encodedBytes(event: string): number {
  return Buffer.byteLength(JSON.stringify(event));
}

/**
 * The split of planChunks, with each body written: one pass over the events, each encoded once
 * (within a group) and measured once. `envelopeHead` is the body up to and including `[`.
 * Every body of the push exists until the push ends (a retry sends the same bytes).
 */
export function encodeChunks(
  events: readonly string[],
  envelopeHead: string,
  limits: ChunkLimits,
  buffers?: BodyBuffers,
): { chunks: EncodedChunk[]; oversized: OversizedEvent[] } {
  const { maxEventBytes } = limits;
  const builder = new ChunkBuilder(envelopeHead, limits.maxBodyBytes, buffers);
  const oversized: OversizedEvent[] = [];
  let index = 0;
  while (index < events.length) {
    // A run of events certainly within the per-event limit (UTF-8 needs at most 3 bytes per
    // UTF-16 unit); an event that may exceed it is measured alone.
    const start = index;
    let chars = 0;
    while (index < events.length && index - start < GROUP_EVENTS && chars < GROUP_CHARS) {
      const length = (events[index] ?? '').length;
      if (length * 3 > maxEventBytes) break;
      chars += length;
      index++;
    }
    if (index === start) {
      const event = events[index] ?? '';
      const bytes = Buffer.byteLength(event);
      if (bytes > maxEventBytes || !builder.addOne(events, index)) oversized.push({ index, bytes });
      index++;
      continue;
    }
    if (builder.addGroup(events, start, index)) continue;
    // The current body ends within this run: event by event, exactly as planChunks.
    for (let i = start; i < index; i++) {
      if (!builder.addOne(events, i)) oversized.push({ index: i, bytes: Buffer.byteLength(events[i] ?? '') });
    }
  }
  return { chunks: builder.finish(), oversized };
}

/**
 * The body of the events at `indexes` (a part of a chunk, sent on its own: a refused chunk is
 * split to find the events at fault), with no size limit (a part of a chunk fits in a chunk).
 */
export function encodePart(
  events: readonly string[],
  indexes: readonly number[],
  envelopeHead: string,
): EncodedChunk {
  const builder = new ChunkBuilder(envelopeHead, Number.POSITIVE_INFINITY);
  const picked = indexes.map((i) => events[i] ?? '');
  for (let start = 0; start < picked.length; start += GROUP_EVENTS) {
    builder.addGroup(picked, start, Math.min(picked.length, start + GROUP_EVENTS));
  }
  const [chunk] = builder.finish();
  return { indexes: [...indexes], bodyBytes: chunk?.bodyBytes ?? 0, body: chunk?.body ?? Buffer.alloc(0) };
}

/**
 * Writes the body of `batch` (the envelope `head`, its events JSON-encoded, `]}`) into one
 * buffer of the size `batch.bodyBytes` says. Throws InvariantError if what was written is not
 * that size: the body would be a truncated (malformed) request, or one over the intake's limit.
 */
export function writeIntakeBody(head: string, batch: IntakeChunk, events: readonly string[]): Buffer {
  const parts: string[] = [];
  for (let start = 0; start < batch.indexes.length; start += GROUP_EVENTS) {
    const group = batch.indexes.slice(start, start + GROUP_EVENTS).map((i) => events[i] ?? '');
    parts.push(JSON.stringify(group));
  }
  const body = writeParts(head.slice(0, -1), parts, batch.bodyBytes, batch.indexes.length);
  if (body instanceof InvariantError) throw body;
  return body;
}

/**
 * The body: `headOpen` (the envelope head without its `[`), the parts (JSON arrays of events)
 * joined with each part's `[` turned into the comma after the previous part's last event (the
 * previous `]` is overwritten), then `}`; or an InvariantError if that is not `measured` bytes.
 */
function writeParts(
  headOpen: string,
  parts: readonly string[],
  measured: number,
  count: number,
): Buffer | InvariantError {
  // Buffer.write cuts what does not fit without a word, and never writes part of a character:
  // in a buffer of exactly the measured size, a body measured too small would still end at
  // that size. With room for one more character (4 UTF-8 bytes), a body larger than measured
  // always ends past it, whether it fits in the spare bytes or was cut within 3 of the end.
  const body = Buffer.allocUnsafe(Math.max(0, measured) + SPARE_BODY_BYTES);
  let offset = body.write(headOpen, 0, 'utf8');
  (parts.length > 0 ? parts : ['[]']).forEach((part, i) => {
    if (i === 0) {
      offset += body.write(part, offset, 'utf8');
      return;
    }
    // This part's `[` lands on the previous part's `]` and becomes the comma between them.
    const at = offset - 1;
    offset = at + body.write(part, at, 'utf8');
    if (at < body.length) body[at] = COMMA;
  });
  if (offset < body.length) body[offset] = CLOSING_BRACE;
  offset++;
  if (offset !== measured) return mismatch(count, measured, offset);
  return body.subarray(0, measured);
}

/**
 * Fills bodies greedily, writing each part (a JSON array of events, `["a","b"]`) into the body
 * as soon as it is measured: the encoded text is garbage at once, never held for the whole
 * chunk (megabytes of strings reached the old generation: +20 MiB RSS with ECS documents).
 * A body is the envelope head, the parts joined with each part's `[` turned into the comma after
 * the previous part's last event (the previous `]` is overwritten), then the closing `]}`.
 */
class ChunkBuilder {
  private readonly chunks: EncodedChunk[] = [];
  private indexes: number[] = [];
  private bytes: number;
  /** The body being written (undefined until the chunk's first part), and where writing is. */
  private body: Buffer | undefined;
  private offset = 0;
  /** The envelope's own bytes: the head without its `[`, and `[`, `]` and `}`. */
  private readonly envelopeBytes: number;
  private readonly headOpen: string;

  constructor(
    envelopeHead: string,
    private readonly maxBodyBytes: number,
    private readonly buffers?: BodyBuffers,
  ) {
    this.headOpen = envelopeHead.slice(0, -1);
    this.envelopeBytes = Buffer.byteLength(envelopeHead) + 2;
    this.bytes = this.envelopeBytes;
  }

  /** Adds events[from..to) as one part if they fit in the current body; false otherwise. */
  addGroup(events: readonly string[], from: number, to: number): boolean {
    const text = JSON.stringify(events.slice(from, to));
    return this.place(events, text, Buffer.byteLength(text) - 2, from, to);
  }

  /**
   * Adds events[index] to the current body, or to a new one when it does not fit. False when
   * it fits in no body (too large once encoded): nothing changes, as in planChunks.
   */
  addOne(events: readonly string[], index: number): boolean {
    const text = JSON.stringify(events.slice(index, index + 1));
    const cost = Buffer.byteLength(text) - 2;
    if (this.envelopeBytes + cost > this.maxBodyBytes) return false;
    if (this.place(events, text, cost, index, index + 1)) return true;
    this.flush();
    return this.place(events, text, cost, index, index + 1);
  }

  finish(): EncodedChunk[] {
    if (this.indexes.length > 0) this.flush();
    return this.chunks;
  }

  /** `text` is a JSON array of events[from..to); `cost` its bytes without the brackets. */
  private place(events: readonly string[], text: string, cost: number, from: number, to: number): boolean {
    const first = this.indexes.length === 0;
    const separator = first ? 0 : 1;
    if (this.bytes + separator + cost > this.maxBodyBytes) return false;
    this.bytes += separator + cost;
    // The text takes `cost` bytes plus its two brackets, one of which overwrites the last `]`.
    const body = this.room(this.body ?? this.open(events, from), cost + 2);
    if (first) this.offset += body.write(text, this.offset, 'utf8');
    else {
      // This part's `[` lands on the previous part's `]` and becomes the comma between them.
      const at = this.offset - 1;
      this.offset = at + body.write(text, at, 'utf8');
      body[at] = COMMA;
    }
    for (let i = from; i < to; i++) this.indexes.push(i);
    return true;
  }

  /**
   * A body for a chunk starting at events[from], sized for the rest of the events as they
   * usually encode (a quarter more than their length: quotes escaped; multi-byte text and
   * control characters grow it, see room), within the body limit, plus SPARE_BODY_BYTES (see
   * writeParts). Reserving the worst case (6 bytes per character) made V8 count megabytes of
   * external memory per push and collect more often (measured: 13 % more CPU).
   */
  private open(events: readonly string[], from: number): Buffer {
    let estimate = this.envelopeBytes;
    for (let i = from; i < events.length && estimate < this.maxBodyBytes; i++) {
      const length = (events[i] ?? '').length;
      estimate += length + (length >> 2) + 3;
    }
    const bytes = Math.min(estimate, this.maxBodyBytes) + SPARE_BODY_BYTES;
    const body = this.buffers?.take(bytes) ?? Buffer.allocUnsafe(bytes);
    this.body = body;
    this.offset = body.write(this.headOpen, 0, 'utf8');
    return body;
  }

  /** The body, grown (copied into one twice as large) if `bytes` more do not fit with the spare. */
  private room(body: Buffer, bytes: number): Buffer {
    const needed = this.offset + bytes + SPARE_BODY_BYTES;
    if (needed <= body.length) return body;
    const size = Math.max(needed, Math.min(2 * body.length, this.maxBodyBytes + SPARE_BODY_BYTES));
    const grown = this.buffers?.take(size) ?? Buffer.allocUnsafe(size);
    body.copy(grown, 0, 0, this.offset);
    this.buffers?.give(body);
    this.body = grown;
    return grown;
  }

  private flush(): void {
    const body = this.body ?? Buffer.alloc(0);
    if (this.offset < body.length) body[this.offset] = CLOSING_BRACE;
    const written = this.offset + 1;
    const measured = this.bytes;
    const count = this.indexes.length;
    this.chunks.push({
      indexes: this.indexes,
      bodyBytes: measured,
      body: written === measured ? body.subarray(0, measured) : mismatch(count, measured, written),
      ...(this.buffers === undefined || this.body === undefined ? {} : { backing: body }),
    });
    this.body = undefined;
    this.offset = 0;
    this.indexes = [];
    this.bytes = this.envelopeBytes;
  }
}

function mismatch(count: number, measured: number, written: number): InvariantError {
  return new InvariantError(
    `Bug in the intake client (please report it): the request body of ${count} events was measured at ${measured} bytes, but ${written} were written. The request was not sent: none of these events was acknowledged, they stay pending and are sent again.`,
  );
}
