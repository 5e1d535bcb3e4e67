import fc from 'fast-check';
import { encodeChunks, encodePart, planChunks } from '../src/intake-body';

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
