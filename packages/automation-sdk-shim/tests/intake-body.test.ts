import fc from 'fast-check';
import { BodyBuffers, encodeChunks, encodePart, planChunks } from '../src/intake-body';

const key = 'k3y-"for"-encoding';
const head = `{"intake_key":${JSON.stringify(key)},"jsons":[`;
const envelope = Buffer.byteLength(JSON.stringify({ intake_key: key, jsons: [] }));
const bodyOf = (jsons: string[]): string => JSON.stringify({ intake_key: key, jsons });
/** A chunk's body as text (an InvariantError in its place fails the test). */
const text = (body: Buffer | Error): string => {
  if (body instanceof Error) throw body;
  return body.toString('utf8');
};

/** Characters that change the encoded size: escapes, control characters, surrogates, multi-byte. */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.constantFrom('"', '\\', '\n', '\u0001', '\ud800', '\udc00', 'é', '😀'),
);

describe('encodeChunks', () => {
  it('splits exactly as planChunks, each body the JSON of its events, byte for byte', () => {
    fc.assert(
      fc.property(
        // Up to 200 events: runs longer than one encoding group (64 events).
        fc.array(fc.string({ unit, maxLength: 60 }), { maxLength: 200 }),
        fc.integer({ min: envelope + 2, max: envelope + 2_000 }),
        fc.integer({ min: 1, max: 200 }),
        (events, maxBodyBytes, maxEventBytes) => {
          const limits = { maxBodyBytes, maxEventBytes };
          const plan = planChunks(events, envelope, limits);
          const { chunks, oversized } = encodeChunks(events, head, limits);
          expect(oversized).toEqual(plan.oversized);
          expect(chunks.map((c) => c.indexes)).toEqual(plan.batches.map((b) => b.indexes));
          expect(chunks.map((c) => c.bodyBytes)).toEqual(plan.batches.map((b) => b.bodyBytes));
          for (const chunk of chunks) {
            const expected = bodyOf(chunk.indexes.map((i) => events[i]!));
            expect(text(chunk.body)).toBe(expected);
            expect(Buffer.byteLength(expected)).toBe(chunk.bodyBytes);
          }
        },
      ),
    );
  });

  it('sends a large push of ordinary events as one body when it fits', () => {
    const events = Array.from({ length: 1_000 }, (_, i) => JSON.stringify({ n: i, text: 'é"\n' }));
    const { chunks, oversized } = encodeChunks(events, head, {
      maxBodyBytes: 9 * 1024 * 1024,
      maxEventBytes: 250_000,
    });
    expect(oversized).toEqual([]);
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(text(chunks[0]!.body))).toEqual({ intake_key: key, jsons: events });
  });

  it('measures a long event on its own against the per-event limit', () => {
    const events = ['a', 'é'.repeat(60), 'b'];
    const { chunks, oversized } = encodeChunks(events, head, { maxBodyBytes: 10_000, maxEventBytes: 100 });
    expect(oversized).toEqual([{ index: 1, bytes: 120 }]);
    expect(chunks.map((c) => c.indexes)).toEqual([[0, 2]]);
  });
});

describe('BodyBuffers', () => {
  it('writes the same bodies into reused buffers, push after push, as into fresh ones', () => {
    const buffers = new BodyBuffers(2);
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit, maxLength: 60 }), { maxLength: 200 }),
        fc.integer({ min: envelope + 2, max: envelope + 2_000 }),
        (events, maxBodyBytes) => {
          const limits = { maxBodyBytes, maxEventBytes: 200 };
          const fresh = encodeChunks(events, head, limits);
          const reused = encodeChunks(events, head, limits, buffers);
          expect(reused.chunks.map((c) => text(c.body))).toEqual(fresh.chunks.map((c) => text(c.body)));
          expect(reused.oversized).toEqual(fresh.oversized);
          // Every body says which buffer to give back; the next push writes over them.
          for (const chunk of reused.chunks) {
            expect(chunk.backing).toBeDefined();
            buffers.give(chunk.backing!);
          }
          expect(buffers.kept).toBeLessThanOrEqual(2);
        },
      ),
    );
  });

  it('hands a buffer given back to the next body that fits in it', () => {
    const buffers = new BodyBuffers(2);
    const events = Array.from({ length: 100 }, (_, i) => `event ${i} "quoted"`);
    const limits = { maxBodyBytes: 1_000_000, maxEventBytes: 1_000 };
    const first = encodeChunks(events, head, limits, buffers).chunks[0]!;
    buffers.give(first.backing!);
    const second = encodeChunks(events.slice(0, 50), head, limits, buffers).chunks[0]!;
    expect(second.backing).toBe(first.backing);
    expect(text(second.body)).toBe(bodyOf(events.slice(0, 50)));
  });

  it('keeps a bounded number and size of buffers, the smallest that fits taken first', () => {
    const kib = 256 * 1024;
    const buffers = new BodyBuffers(3, 10 * kib);
    const [a, b, c, d] = [kib, 2 * kib, 4 * kib, 4 * kib].map((n) => Buffer.alloc(n));
    for (const buffer of [c!, a!, b!, d!]) buffers.give(buffer);
    // d would make 11 × 256 KiB: not kept.
    expect(buffers.kept).toBe(3);
    expect(buffers.take(kib + 1)).toBe(b);
    expect(buffers.take(10)).toBe(a);
    // None of 5 × 256 KiB: a new one, rounded up, and the one too small is let go.
    const fresh = buffers.take(5 * kib - 100);
    expect(fresh).not.toBe(c);
    expect(fresh.length).toBe(5 * kib);
    expect(buffers.kept).toBe(0);
  });

  it('gives back the buffer a body outgrew while being written', () => {
    const buffers = new BodyBuffers(4);
    // Multi-byte events encode larger than the estimate: the body is moved to a larger buffer.
    const events = Array.from({ length: 200 }, () => '😀'.repeat(1_000));
    const { chunks } = encodeChunks(
      events,
      head,
      { maxBodyBytes: 9_000_000, maxEventBytes: 250_000 },
      buffers,
    );
    expect(text(chunks[0]!.body)).toBe(bodyOf(events));
    // Nothing was given back by the caller: what is kept is the buffer outgrown.
    expect(buffers.kept).toBe(1);
  });
});

describe('encodePart', () => {
  it('writes the body of any subset of events, in the order given', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit, maxLength: 30 }), { minLength: 1, maxLength: 150 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 150 }),
        (events, picks) => {
          const indexes = picks.map((p) => p % events.length);
          const part = encodePart(events, indexes, head);
          expect(part.indexes).toEqual(indexes);
          expect(text(part.body)).toBe(bodyOf(indexes.map((i) => events[i]!)));
          expect(part.bodyBytes).toBe(Buffer.byteLength(text(part.body)));
        },
      ),
    );
  });
});
