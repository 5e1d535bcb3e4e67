import { DeliveryError } from '../src/errors';
import { createHttpClient } from '../src/http';
import { INTAKE_MAX_BODY_BYTES, INTAKE_MAX_CHUNK_BYTES, INTAKE_MAX_EVENT_BYTES } from '../src/intake';
import type { IntakeStandIn } from '../src/testing';
import {
  INTAKE_KEY,
  eventsForIds,
  numberedEvents,
  rejection,
  startIntakeHarness,
  type IntakeHarness,
} from './helpers/intake-harness';

const isEvent = (n: number) => (event: string) => event.startsWith(`{"i":${n},`);

/** The body size that fits exactly `perBody` events like these (from the first, of equal size). */
function bodyFor(events: readonly string[], perBody: number): number {
  return Buffer.byteLength(JSON.stringify({ intake_key: INTAKE_KEY, jsons: events.slice(0, perBody) }));
}

/** How many times the intake stored each event string. */
function copies(standIn: IntakeStandIn): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of standIn.events) counts.set(event, (counts.get(event) ?? 0) + 1);
  return counts;
}

const metric = async (h: IntakeHarness, name: string): Promise<number> => {
  const text = await h.metrics.registry.metrics();
  const match = new RegExp(
    `^symphony_module_common_${name}\\{intake_key="${INTAKE_KEY}"\\} (\\d+)$`,
    'm',
  ).exec(text);
  if (match === null) throw new Error(`no ${name} series`);
  return Number(match[1]);
};

describe('IntakeClient delivery semantics', () => {
  let h: IntakeHarness;
  beforeEach(async () => {
    h = await startIntakeHarness();
  });
  afterEach(() => h.stop());

  describe('a 2xx that does not name every event', () => {
    it.each([
      [
        'without event_ids',
        (s: IntakeStandIn) => {
          s.acknowledgeWithoutIds(1);
        },
        0,
      ],
      [
        'with an empty event_ids',
        (s: IntakeStandIn) => {
          s.failNext(1, { status: 200, store: true, body: '{"event_ids": []}' });
        },
        0,
      ],
      [
        'with 2 ids for 5 events',
        (s: IntakeStandIn) => {
          s.acknowledgeWithoutIds(1, 2);
        },
        2,
      ],
      [
        'as a 204 with no body',
        (s: IntakeStandIn) => {
          s.failNext(1, { status: 204, store: true, body: '' });
        },
        0,
      ],
    ])('is accepted %s: never sent again, one warning, counted', async (_label, script, named) => {
      script(h.standIn);
      const events = numberedEvents(5);
      const result = await h.client().push(events);

      expect(h.standIn.requests).toBe(1);
      expect(h.standIn.events).toEqual(events);
      expect(result.unidentified).toBe(5 - named);
      expect(result.eventIds).toEqual(h.standIn.eventIds.slice(0, named));
      const warnings = h.logger.messages('warning');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('event_ids');
      expect(warnings[0]).toContain('not sent again');
      expect(await metric(h, 'unidentified_events_total')).toBe(5 - named);
      expect(await metric(h, 'forwarded_events_total')).toBe(5);
    });
  });

  describe('body margin', () => {
    /** Events of `bytes` each: plain ASCII, quote-heavy (escaping doubles them), or multi-byte. */
    const sized = (bytes: number, count: number, kind: 'ascii' | 'quotes' | 'utf8'): string[] => {
      const unit = { ascii: 'abcd', quotes: '"\\"\\', utf8: 'é' }[kind];
      const unitBytes = Buffer.byteLength(unit);
      return Array.from({ length: count }, (_, i) => {
        const head = `${kind}${i}:`;
        return head + unit.repeat(Math.floor((bytes - head.length) / unitBytes));
      });
    };

    it("keeps every body within 9 MiB (the Python SDK's 90 % of the 10 MiB limit) for events of many sizes", async () => {
      expect(INTAKE_MAX_CHUNK_BYTES).toBe(9 * 1024 * 1024);
      const cases: string[][] = [
        sized(1_000, 11_000, 'ascii'),
        [...sized(37_777, 150, 'quotes'), ...sized(61_111, 60, 'utf8')],
        sized(INTAKE_MAX_EVENT_BYTES - 1, 44, 'ascii'),
        [
          ...sized(120_000, 30, 'utf8'),
          ...sized(INTAKE_MAX_EVENT_BYTES, 20, 'quotes'),
          ...sized(20, 500, 'ascii'),
        ],
      ];
      for (const events of cases) {
        const before = h.standIn.bodySizes.length;
        // One at a time, so bodies arrive in the order they were planned.
        const result = await h.client({ concurrency: 1 }).push(events);
        const sizes = h.standIn.bodySizes.slice(before);
        const largestCost = Math.max(...events.map((e) => Buffer.byteLength(JSON.stringify(e)) + 1));

        expect(result.discarded).toBe(0);
        expect(sizes.length).toBeGreaterThan(1);
        for (const size of sizes) expect(size).toBeLessThanOrEqual(INTAKE_MAX_CHUNK_BYTES);
        // Greedy: every body but the last is filled up to one event of the margin, no less.
        for (const size of sizes.slice(0, -1)) {
          expect(size).toBeGreaterThan(INTAKE_MAX_CHUNK_BYTES - largestCost);
        }
      }
      expect(h.standIn.events).toEqual(cases.flat());
      expect(INTAKE_MAX_CHUNK_BYTES).toBeLessThan(INTAKE_MAX_BODY_BYTES);
    });
  });

  describe('a batch the intake refuses (poison events)', () => {
    it('delivers 999 of 1,000 events when one is refused with 400: the refused one logged, counted, discarded', async () => {
      h.standIn.refuse = isEvent(637);
      const events = numberedEvents(1_000);
      const result = await h.client().push(events);

      expect(result.refused).toBe(1);
      expect(result.discarded).toBe(0);
      expect(result.eventIds).toHaveLength(999);
      expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events.filter((_, i) => i !== 637));
      expect([...copies(h.standIn).values()].every((n) => n === 1)).toBe(true);
      // Halving: the whole batch, then both halves at each of ceil(log2 1000) = 10 levels.
      expect(h.standIn.requests).toBeLessThanOrEqual(2 * Math.log2(1_000) + 2);
      expect(h.clock.slept).toBe(0);
      const errors = h.logger.entries.filter((e) => e.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0]?.fields.index).toBe(637);
      expect(errors[0]?.fields.status).toBe(400);
      expect(errors[0]?.message).toContain('{"i":637,');
      expect(errors[0]?.message.length).toBeLessThan(600);
      expect(await metric(h, 'discarded_events_total')).toBe(1);
      expect(await metric(h, 'forwarded_events_total')).toBe(999);
    });

    it('isolates two refused events within the request budget', async () => {
      h.standIn.refuse = (event) => isEvent(3)(event) || isEvent(871)(event);
      const events = numberedEvents(1_000);
      const result = await h.client().push(events);

      expect(result.refused).toBe(2);
      expect(h.standIn.events).toHaveLength(998);
      expect(h.standIn.requests).toBeLessThanOrEqual(1 + 4 * Math.ceil(Math.log2(1_000)));
    });

    it('discards an event refused alone with 413 although it is under the event limit', async () => {
      h.standIn.refuse = isEvent(4);
      h.standIn.refuseStatus = 413;
      const events = numberedEvents(10);
      const result = await h.client().push(events);

      expect(result.refused).toBe(1);
      // Halves arrive out of input order; each event once.
      expect([...h.standIn.events].sort()).toEqual(events.filter((_, i) => i !== 4).sort());
      expect(h.logger.messages('error')[0]).toContain('HTTP 413');
    });

    it('never splits a 401: the wrong key stays fatal', async () => {
      await h.stop();
      h = await startIntakeHarness({ intakeKey: 'the-right-key-1234' });
      h.standIn.refuse = () => true;
      const error = await rejection(h.client({ intakeKey: 'a-wrong-key-5678' }).push(numberedEvents(100)));

      expect((error as Error).name).toBe('AuthenticationError');
      expect(h.standIn.requests).toBe(1);
    });

    it('discards an event pushed alone only once the intake showed it accepts others', async () => {
      h.standIn.refuse = (event) => event === 'poison';
      const client = h.client();

      // Nothing accepted yet: the intake may be refusing everything, so the event is kept.
      const first = await rejection(client.push(['poison']));
      expect(first).toBeInstanceOf(DeliveryError);
      expect((first as DeliveryError).acknowledged).toEqual([]);

      await client.push(['fine']);
      const result = await client.push(['poison']);
      expect(result.refused).toBe(1);
      expect(h.standIn.events).toEqual(['fine']);
    });
  });

  describe('an answer lost after the intake stored the batch', () => {
    it.each([
      [
        'the connection is dropped',
        (s: IntakeStandIn) => {
          s.storeThenDrop(1);
        },
      ],
      [
        'the answer times out',
        (s: IntakeStandIn) => {
          s.failNext(1, { status: 0, store: true, hang: true });
        },
      ],
    ])(
      'sends only that chunk again and counts its events possibly duplicated: %s',
      async (_label, script) => {
        script(h.standIn);
        const events = numberedEvents(30);
        const client = h.client({
          maxBodyBytes: bodyFor(events.slice(10), 10),
          concurrency: 1,
          http: createHttpClient({ timeoutMs: 200 }),
        });
        const result = await client.push(events);

        expect(h.standIn.requests).toBe(4);
        expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events);
        // Exactly the first chunk twice, nothing else.
        const twice = [...copies(h.standIn)].filter(([, n]) => n > 1);
        expect(twice).toEqual(events.slice(0, 10).map((event) => [event, 2]));
        expect(result.possiblyDuplicated).toBe(10);
        expect(await metric(h, 'possibly_duplicated_events_total')).toBe(10);
        const lost = h.logger.messages('warning').filter((m) => m.includes('may appear twice'));
        expect(lost).toHaveLength(1);
      },
    );

    it('counts nothing when the failure proves the batch was not stored (503)', async () => {
      h.standIn.failNext(2, { status: 503 });
      const result = await h.client().push(numberedEvents(10));

      expect(result.possiblyDuplicated).toBe(0);
      expect(h.standIn.events).toHaveLength(10);
      expect(await metric(h, 'possibly_duplicated_events_total')).toBe(0);
    });
  });

  describe('DeliveryError.acknowledged', () => {
    // 41 events, #3 oversized: chunks of 10 are [0-2, 4-10], [11-20], [21-30], [31-40].
    const events = numberedEvents(41);
    events[3] = JSON.stringify({ i: 3, text: 'y'.repeat(INTAKE_MAX_EVENT_BYTES) });
    const secondChunk = events.slice(11, 21);
    const expectedAcknowledged = [...Array(41).keys()].filter((i) => i < 11 || i > 20);
    const options = () => ({
      maxBodyBytes: bodyFor(events.slice(11), 10),
      concurrency: 1,
      policy: { initialMs: 1_000, maxMs: 60_000, deadlineMs: 300_000 },
    });

    it('lists every event not to send again when the 2nd of 4 chunks is refused for good', async () => {
      let request = 0;
      h.standIn.failWhile(() => ++request === 2, { status: 404, body: 'no such intake' });
      const error = await rejection(h.client(options()).push(events));

      expect(error).toBeInstanceOf(DeliveryError);
      const { acknowledged, undelivered, message } = error as DeliveryError;
      expect(acknowledged).toEqual(expectedAcknowledged);
      expect(undelivered).toBe(10);
      expect(message).toContain('10 of 41 events were not delivered');
      expect(h.standIn.events).toEqual(events.filter((_, i) => i !== 3 && (i < 11 || i > 20)));
    });

    it('lets the caller re-send only the rest, every extra copy counted, when chunk 2 never gets an answer', async () => {
      let dropping = true;
      h.standIn.storeThenDrop((batch) => dropping && batch.includes(secondChunk[0]!));
      const client = h.client(options());
      const error = await rejection(client.push(events));

      expect(error).toBeInstanceOf(DeliveryError);
      const { acknowledged, undelivered } = error as DeliveryError;
      expect(acknowledged).toEqual(expectedAcknowledged);
      expect(undelivered).toBe(10);

      // The caller's side of the contract: send again what is not acknowledged.
      dropping = false;
      const rest = events.filter((_, i) => !acknowledged.includes(i));
      expect(rest).toEqual(secondChunk);
      await client.push(rest);

      const stored = copies(h.standIn);
      for (const [i, event] of events.entries()) {
        if (i !== 3) expect(stored.get(event)).toBeGreaterThanOrEqual(1);
      }
      const extraCopies = secondChunk.reduce((sum, event) => sum + (stored.get(event) ?? 0) - 1, 0);
      expect(extraCopies).toBeGreaterThan(10);
      expect(await metric(h, 'possibly_duplicated_events_total')).toBe(extraCopies);
    });
  });
});
