import { getEventListeners } from 'node:events';
import { createServer, request as httpRequest, Agent } from 'node:http';
import fc from 'fast-check';
import {
  AuthenticationError,
  ConfigurationError,
  DeliveryError,
  InvariantError,
  ResponseError,
  isAbort,
} from '../src/errors';
import { createHttpClient } from '../src/http';
import { closeHttp, listenHttp } from '../src/testing';
import { IntakeClient, planChunks, writeIntakeBody, INTAKE_MAX_BODY_BYTES } from '../src/intake';
import { IntakeStandIn } from '../src/testing';
import { MemoryLogger } from '../src/testing';
import { realSleep, type Sleep } from '../src/time';
import { ManualClock } from '../src/testing';
import {
  INTAKE_KEY,
  eventsForIds,
  numberedEvents,
  rejection,
  startIntakeHarness,
  type IntakeHarness,
} from './helpers/intake-harness';

const envelopeBytes = (key: string): number =>
  Buffer.byteLength(JSON.stringify({ intake_key: key, jsons: [] }));

describe('IntakeClient against the stand-in intake', () => {
  let h: IntakeHarness;
  beforeEach(async () => {
    h = await startIntakeHarness();
  });
  afterEach(() => h.stop());

  it('delivers every event after a 30 s outage, ids in input order, with backoff', async () => {
    const t0 = h.clock.now();
    h.standIn.failWhile(() => h.clock.now() < t0 + 30_000, { status: 503, body: 'maintenance' });
    const events = numberedEvents(2_000);
    const result = await h.client({ maxBodyBytes: 64 * 1024 }).push(events);

    expect(result.discarded).toBe(0);
    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events);
    expect(h.standIn.bodySizes.length).toBeGreaterThan(1);
    expect(h.standIn.responses.some((r) => r.status === 503)).toBe(true);
    const firstAccepted = h.standIn.responses.find((r) => r.status === 200);
    expect(firstAccepted?.at).toBeGreaterThanOrEqual(t0 + 30_000);
    expect(h.clock.slept).toBeGreaterThanOrEqual(30_000);
    expect(h.logger.messages('warning').some((m) => m.includes('retrying'))).toBe(true);
  });

  it('splits 25 MiB of events into bodies of at most 10 MiB, none lost, order kept', async () => {
    // Quotes make the escaped form larger than the event: the limit must count that too.
    const events = Array.from({ length: 250 }, (_, i) =>
      JSON.stringify({ i, text: 'say "hi" '.repeat(11_000) }),
    );
    const eventBytes = events.reduce((sum, e) => sum + Buffer.byteLength(e), 0);
    expect(eventBytes).toBeGreaterThan(25 * 1024 * 1024);

    const result = await h.client().push(events);

    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events);
    expect(h.standIn.events).toHaveLength(events.length);
    expect(h.standIn.bodySizes.length).toBeGreaterThanOrEqual(3);
    for (const size of h.standIn.bodySizes) expect(size).toBeLessThanOrEqual(INTAKE_MAX_BODY_BYTES);
  });

  it('discards a 300 kB event with one warning naming its size, and delivers the rest', async () => {
    const big = JSON.stringify({ secret_payload: 'CONTENT-'.repeat(37_500) });
    const size = Buffer.byteLength(big);
    const result = await h.client().push(['first', big, { second: true }]);

    expect(result.discarded).toBe(1);
    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(['first', '{"second":true}']);
    const warnings = h.logger.entries.filter((e) => e.level === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain(String(size));
    expect(warnings[0]?.fields.index).toBe(1);
    expect(JSON.stringify(warnings)).not.toContain('CONTENT-');
    expect(await h.metrics.registry.metrics()).toContain(
      `symphony_module_common_discarded_events_total{intake_key="${INTAKE_KEY}"} 1`,
    );
  });

  it('fails fast on 401 with an AuthenticationError naming intake_key, never its value', async () => {
    await h.stop();
    h = await startIntakeHarness({ intakeKey: 'the-right-key-1234' });
    const wrongKey = 'a-wrong-key-5678';
    const client = h.client({ intakeKey: wrongKey, maxBodyBytes: 2_000, concurrency: 1 });

    const error = await rejection(client.push(numberedEvents(50)));

    expect(error).toBeInstanceOf(AuthenticationError);
    const message = (error as Error).message;
    expect(message).toContain('intake_key');
    expect(message).not.toContain(wrongKey);
    expect(JSON.stringify(error)).not.toContain(wrongKey);
    // Several batches, but the first refusal stops the others: one request, no sleep.
    expect(h.standIn.requests).toBe(1);
    expect(h.clock.slept).toBe(0);
  });

  it('discards nothing when the intake refuses every part with 400: a DeliveryError quoting it, no wait', async () => {
    h.standIn.failWhile(() => true, { status: 400, body: '{"message": "jsons must be a list"}' });
    const error = await rejection(h.client().push(numberedEvents(3)));

    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).undelivered).toBe(3);
    expect((error as DeliveryError).acknowledged).toEqual([]);
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(ResponseError);
    expect((cause as ResponseError).status).toBe(400);
    expect((error as Error).message).toContain('jsons must be a list');
    // The batch, its halves, the halves of the half of two: then no evidence to discard anything.
    expect(h.standIn.requests).toBe(5);
    expect(h.clock.slept).toBe(0);
    expect(await h.metrics.registry.metrics()).toContain(
      `symphony_module_common_discarded_events_total{intake_key="${INTAKE_KEY}"} 0`,
    );
  });

  it("retries a 200 whose body is HTML instead of the intake's JSON answer", async () => {
    h.standIn.failNext(1, { status: 200, body: '<html><body>Gateway portal</body></html>' });
    const events = numberedEvents(5);
    const result = await h.client().push(events);

    expect(h.standIn.requests).toBe(2);
    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events);
    expect(result.unidentified).toBe(0);
  });

  it('honours Retry-After', async () => {
    h.standIn.failNext(1, { status: 429, headers: { 'Retry-After': '7' } });
    await h.client().push(['one']);
    expect(h.clock.slept).toBe(7_000);
    expect(h.standIn.requests).toBe(2);
  });

  it('retries a request that hangs past the timeout, and a dropped connection', async () => {
    h.standIn.failNext(1, { status: 0, hang: true });
    h.standIn.failNext(1, { status: 0, destroy: true });
    const client = h.client({ http: createHttpClient({ timeoutMs: 200 }) });
    const result = await client.push(['one', 'two']);

    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(['one', 'two']);
    expect(h.standIn.requests).toBe(3);
  });

  it('throws a DeliveryError counting exactly the events of the batches that missed the deadline', async () => {
    const t0 = h.clock.now();
    // IntakeChunk 1 exhausts its 5-minute deadline during the outage; the next ones outlive it.
    h.standIn.failWhile(() => h.clock.now() < t0 + 360_000, { status: 503 });
    const events = numberedEvents(30);
    const client = h.client({
      maxBodyBytes: 1_500,
      concurrency: 1,
      policy: { initialMs: 1_000, maxMs: 60_000, deadlineMs: 300_000 },
    });

    const error = await rejection(client.push(events));

    expect(error).toBeInstanceOf(DeliveryError);
    const { undelivered, message } = error as DeliveryError;
    expect(undelivered).toBeGreaterThan(0);
    expect(undelivered).toBeLessThan(events.length);
    expect(message).toContain(`${undelivered} of ${events.length} events were not delivered`);
    expect(message).toContain('503');
    expect(h.standIn.events).toEqual(events.slice(undelivered));
  });

  it('reports every event undelivered when the intake never recovers', async () => {
    h.standIn.failWhile(() => true, { status: 502 });
    const client = h.client({
      maxBodyBytes: 1_500,
      policy: { initialMs: 1_000, maxMs: 60_000, deadlineMs: 600_000 },
    });
    const error = await rejection(client.push(numberedEvents(30)));

    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).undelivered).toBe(30);
    expect(h.standIn.events).toHaveLength(0);
  });

  it('stops promptly when aborted while waiting on backoff', async () => {
    h.standIn.failWhile(() => true, { status: 503 });
    const controller = new AbortController();
    let waiting!: () => void;
    const backingOff = new Promise<void>((resolve) => (waiting = resolve));
    // A real sleep, so the push really waits (a minute) until the abort.
    const sleep: Sleep = (ms, signal) => {
      waiting();
      return realSleep(ms, signal);
    };
    const client = h.client({ sleep, policy: { initialMs: 60_000, maxMs: 60_000, deadlineMs: 3_600_000 } });

    const push = rejection(client.push(['one'], { signal: controller.signal }));
    await backingOff;
    const abortedAt = Date.now();
    controller.abort();
    const error = await push;

    expect(isAbort(error)).toBe(true);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    expect(h.standIn.requests).toBe(1);
  });

  it('re-sends its own bytes on a retry while pushes side by side reuse body buffers', async () => {
    // Each push's first request fails: the retry must send the same body, not a buffer another
    // push has written its own body into meanwhile.
    let failures = 0;
    h.standIn.failWhile(() => failures++ < 4, { status: 503 });
    const client = h.client({ concurrency: 1 });
    const pushes = [0, 1, 2, 3].map((p) => Array.from({ length: 50 }, (_, i) => `push ${p} event ${i}`));
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(pushes.map((events) => client.push(events)));
      results.forEach((result, p) => {
        expect(eventsForIds(h.standIn, result.eventIds)).toEqual(pushes[p]);
      });
    }
    expect(h.standIn.responses.filter((r) => r.status === 503)).toHaveLength(4);
  });

  it("leaves nothing behind on the caller's long-lived signal, push after push", async () => {
    // The trigger passes one signal for the whole run. AbortSignal.any linked every push's own
    // signal to it for good on Node 20 (nodejs/node#54614): one more reference per push.
    const run = new AbortController();
    const client = h.client();
    for (let i = 0; i < 50; i++) await client.push([`event ${i}`], { signal: run.signal });

    expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
    expect(linkedSignals(run.signal)).toBe(0);
    expect(h.standIn.events).toHaveLength(50);
  });

  it('still stops at once when the long-lived signal was aborted before the push', async () => {
    const run = new AbortController();
    run.abort();
    const error = await rejection(h.client().push(['one'], { signal: run.signal }));

    expect(isAbort(error)).toBe(true);
    expect(h.standIn.events).toHaveLength(0);
  });

  it('chunks multi-byte UTF-8 events by bytes, not characters', async () => {
    const events = Array.from({ length: 40 }, (_, i) => `${i}:${'日本語😀'.repeat(20)}`);
    const maxBodyBytes = 1_000;
    const result = await h.client({ maxBodyBytes }).push(events);

    expect(eventsForIds(h.standIn, result.eventIds)).toEqual(events);
    for (const size of h.standIn.bodySizes) expect(size).toBeLessThanOrEqual(maxBodyBytes);
    // Counting characters would have allowed ~2.5x fewer bodies, each then over the limit.
    const characters = events.reduce((sum, e) => sum + e.length + 3, envelopeBytes(INTAKE_KEY));
    expect(h.standIn.bodySizes.length).toBeGreaterThan(Math.ceil(characters / maxBodyBytes) * 2);
  });

  it('counts forwarded events and push durations in the metrics, and tells liveness', async () => {
    h.standIn.failNext(1, { status: 500 });
    await h.client().push(numberedEvents(7));
    const text = await h.metrics.registry.metrics();

    expect(text).toContain(`symphony_module_common_forwarded_events_total{intake_key="${INTAKE_KEY}"} 7`);
    expect(text).toContain(
      `symphony_module_common_forward_events_duration_count{intake_key="${INTAKE_KEY}"} 1`,
    );
    expect(h.liveness.body().push_failing_since).toBeNull();
  });

  it('sends the key in the body only, never in the User-Agent', async () => {
    const seen: { userAgent?: string; body?: string } = {};
    const spy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.userAgent = req.headers['user-agent'];
        seen.body = Buffer.concat(chunks).toString('utf8');
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"event_ids":["id-1"]}');
      });
    });
    const port = await listenHttp(spy, 0, '127.0.0.1');
    try {
      const result = await h.client({ url: `http://127.0.0.1:${port}/` }).push([{ a: 1 }]);
      expect(result.eventIds).toEqual(['id-1']);
    } finally {
      await closeHttp(spy);
    }
    expect(seen.body).toBe(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['{"a":1}'] }));
    expect(seen.userAgent).toMatch(/^sekoiaio-connector\//);
    expect(seen.userAgent).not.toContain(INTAKE_KEY);
  });
});

describe('planChunks', () => {
  const key = 'k3y-for-planning';
  const envelope = envelopeBytes(key);
  const unit = fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('"', '\\', '\n', '\u0001', '\ud800', 'é', '😀'),
  );

  it('keeps every real body within the limit, in order, greedily', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit, maxLength: 60 }), { maxLength: 40 }),
        fc.integer({ min: envelope + 2, max: envelope + 400 }),
        fc.integer({ min: 1, max: 200 }),
        (events, maxBodyBytes, maxEventBytes) => {
          const { batches, oversized } = planChunks(events, envelope, { maxBodyBytes, maxEventBytes });
          const sent = batches.map((b) => b.indexes.map((index) => events[index]!));
          for (const [i, jsons] of sent.entries()) {
            const body = Buffer.byteLength(JSON.stringify({ intake_key: key, jsons }));
            expect(body).toBe(batches[i]?.bodyBytes);
            expect(body).toBeLessThanOrEqual(maxBodyBytes);
            const next = sent[i + 1]?.[0];
            if (next !== undefined)
              expect(body + 1 + Buffer.byteLength(JSON.stringify(next))).toBeGreaterThan(maxBodyBytes);
          }
          const skipped = new Set(oversized.map((o) => o.index));
          expect(sent.flat()).toEqual(events.filter((_, i) => !skipped.has(i)));
          expect(batches.flatMap((b) => b.indexes)).toEqual(
            events.flatMap((_, i) => (skipped.has(i) ? [] : [i])),
          );
          for (const { index, bytes } of oversized) {
            expect(bytes).toBe(Buffer.byteLength(events[index]!));
            expect(
              bytes > maxEventBytes ||
                envelope + Buffer.byteLength(JSON.stringify(events[index])) > maxBodyBytes,
            ).toBe(true);
          }
        },
      ),
    );
  });

  it('fits a body exactly at the limit', () => {
    const events = ['aaaa', 'bbbb', 'cccc', 'dddd'];
    const twoEvents = Buffer.byteLength(JSON.stringify({ intake_key: key, jsons: events.slice(0, 2) }));
    const { batches } = planChunks(events, envelope, { maxBodyBytes: twoEvents, maxEventBytes: 100 });
    expect(batches.map((b) => b.indexes)).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(batches.map((b) => b.bodyBytes)).toEqual([twoEvents, twoEvents]);
  });
});

describe('writeIntakeBody', () => {
  const key = 'k3y-for-the-body';
  const head = `{"intake_key":${JSON.stringify(key)},"jsons":[`;
  const unit = fc.constantFrom('a', '"', '\\', '\n', 'é', '€', '😀', '\ud800');
  const eventLists = fc.array(fc.string({ unit, minLength: 1, maxLength: 12 }), {
    minLength: 1,
    maxLength: 6,
  });
  const measured = (events: string[]) =>
    planChunks(events, envelopeBytes(key), { maxBodyBytes: 100_000, maxEventBytes: 1_000 }).batches[0]!;

  it('writes exactly the body planChunks measured', () => {
    fc.assert(
      fc.property(eventLists, (events) => {
        const body = writeIntakeBody(head, measured(events), events);
        expect(JSON.parse(body.toString('utf8'))).toEqual({ intake_key: key, jsons: events });
        expect(body.length).toBe(measured(events).bodyBytes);
      }),
    );
  });

  it('a body of another size than measured, smaller or larger, is a named invariant error: a bug, nothing sent or acknowledged', () => {
    const offs = fc.integer({ min: -12, max: 12 }).filter((n) => n !== 0);
    fc.assert(
      fc.property(eventLists, offs, (events, off) => {
        const wrong = { ...measured(events), bodyBytes: measured(events).bodyBytes + off };
        let thrown: unknown;
        try {
          writeIntakeBody(head, wrong, events);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(InvariantError);
        const message = (thrown as Error).message;
        expect(message).toMatch(/^Bug in the intake client/);
        expect(message).toContain(`measured at ${wrong.bodyBytes} bytes`);
        expect(message).toMatch(/not sent: none of these events was acknowledged/);
        expect(message).not.toContain(key);
      }),
    );
  });
});

describe('IntakeClient configuration', () => {
  const base = {
    intakeKey: INTAKE_KEY,
    logger: new MemoryLogger(),
    clock: new ManualClock(),
    sleep: realSleep,
  };

  it('rejects a URL that is not http(s), naming intake_server', () => {
    expect(() => new IntakeClient({ ...base, url: 'intake.sekoia.io' })).toThrow(ConfigurationError);
    expect(() => new IntakeClient({ ...base, url: 'intake.sekoia.io' })).toThrow('intake_server');
  });

  it('rejects an empty intake key, naming intake_key', () => {
    expect(() => new IntakeClient({ ...base, url: 'https://intake.sekoia.io', intakeKey: ' ' })).toThrow(
      'intake_key',
    );
  });
});

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('IntakeStandIn', () => {
  let standIn: IntakeStandIn;
  beforeEach(async () => {
    standIn = new IntakeStandIn({ intakeKey: INTAKE_KEY });
    await standIn.start();
  });
  afterEach(() => standIn.stop());

  const post = (body: string | Buffer, path = '/batch') =>
    createHttpClient({ timeoutMs: 5_000 }).post<string>(`${standIn.url}${path}`, body, {
      headers: { 'Content-Type': 'application/json' },
    });

  it('accepts a batch, answering one id per event', async () => {
    const response = await post(
      JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['a', 'b'] }),
      '/api/v1/intake-http/batch',
    );
    const ids = (JSON.parse(response.data) as { event_ids: string[] }).event_ids;
    expect(response.status).toBe(200);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(standIn.events).toEqual(['a', 'b']);
    expect(standIn.eventIds).toEqual(ids);
  });

  it.each([
    ['not JSON', '{"intake_key": '],
    ['jsons not a list', JSON.stringify({ intake_key: INTAKE_KEY, jsons: 'a' })],
    ['an event that is not a string', JSON.stringify({ intake_key: INTAKE_KEY, jsons: [{ a: 1 }] })],
    ['no intake key', JSON.stringify({ jsons: ['a'] })],
  ])('answers 400 to a malformed body: %s', async (_label, body) => {
    expect((await post(body)).status).toBe(400);
    expect(standIn.events).toHaveLength(0);
  });

  it('answers 401 to another intake key and 413 to a body over 10 MiB', async () => {
    expect((await post(JSON.stringify({ intake_key: 'other-key', jsons: ['a'] }))).status).toBe(401);
    const huge = JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['x'.repeat(INTAKE_MAX_BODY_BYTES)] });
    expect((await post(huge)).status).toBe(413);
    expect(standIn.events).toHaveLength(0);
  });

  it('stores a batch, then drops the connection without answering (storeThenDrop)', async () => {
    standIn.storeThenDrop(1);
    const error = await post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['a', 'b'] })).catch(
      (e: unknown) => e,
    );
    expect(error).toHaveProperty('code', 'ECONNRESET');
    expect(standIn.events).toEqual(['a', 'b']);
    expect(standIn.eventIds).toHaveLength(2);
    // Only the next request: the one after is answered.
    expect((await post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['c'] }))).status).toBe(200);
  });

  it('drops the answer to the batches a predicate picks, after storing them', async () => {
    standIn.storeThenDrop((events) => events.includes('lost'));
    expect((await post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['kept'] }))).status).toBe(200);
    const error = await post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['lost'] })).catch(
      (e: unknown) => e,
    );
    expect(error).toHaveProperty('code', 'ECONNRESET');
    expect(standIn.events).toEqual(['kept', 'lost']);
  });

  it('refuses a batch holding a refused event with 400 (or refuseStatus), storing none of it', async () => {
    standIn.refuse = (event) => event === 'poison';
    const batch = (jsons: string[]) => JSON.stringify({ intake_key: INTAKE_KEY, jsons });
    expect((await post(batch(['a', 'poison']))).status).toBe(400);
    standIn.refuseStatus = 413;
    expect((await post(batch(['poison']))).status).toBe(413);
    expect((await post(batch(['a']))).status).toBe(200);
    expect(standIn.events).toEqual(['a']);
  });

  it('answers 200 without event_ids, or naming fewer events, after storing them', async () => {
    standIn.acknowledgeWithoutIds(1);
    standIn.acknowledgeWithoutIds(1, 1);
    const batch = JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['a', 'b'] });
    const none = await post(batch);
    const fewer = await post(batch);

    expect(none.status).toBe(200);
    expect(JSON.parse(none.data)).toEqual({});
    expect(JSON.parse(fewer.data)).toEqual({ event_ids: [standIn.eventIds[2]] });
    expect(standIn.events).toEqual(['a', 'b', 'a', 'b']);
  });

  it('answers 500 and acknowledges nothing when onEvents fails', async () => {
    standIn.onEvents = () => Promise.reject(new Error('disk full'));
    expect((await post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['a'] }))).status).toBe(500);
    expect(standIn.events).toHaveLength(0);
  });

  it('settled() waits for the requests already sent to be handled', async () => {
    let release: () => void = () => undefined;
    standIn.onEvents = () => new Promise<void>((resolve) => (release = resolve));
    const sent = post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['in flight'] }));
    while (standIn.requests === 0) await wait(5);
    const settled = standIn.settled();
    // Not settled while the batch is being stored: the answer has not gone out.
    const early = await Promise.race([settled.then(() => 'settled'), wait(100).then(() => 'pending')]);
    expect(early).toBe('pending');
    release();
    await settled;
    expect(standIn.events).toEqual(['in flight']);
    expect((await sent).status).toBe(200);
  });

  it('settled() gives up on a request held open on purpose after maxWaitMs', async () => {
    standIn.failNext(1, { status: 200, hang: true });
    const sent = post(JSON.stringify({ intake_key: INTAKE_KEY, jsons: ['held'] })).catch(() => undefined);
    await wait(50);
    const started = Date.now();
    await standIn.settled(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    await standIn.stop();
    await sent;
  });

  it('closes idle keep-alive sockets and hanging requests on stop', async () => {
    const agent = new Agent({ keepAlive: true });
    const get = (path: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const req = httpRequest(`${standIn.url}${path}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            resolve(res.statusCode);
          });
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/idle')).toBe(404);
    standIn.failNext(1, { status: 0, hang: true });
    const hanging = get('/hang').catch((error: unknown) => error);
    while (standIn.requests < 2) await realSleep(5);

    const started = Date.now();
    await standIn.stop();
    // close() alone would wait for the hanging request (and Node's 5 s keep-alive timeout).
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await hanging).toHaveProperty('code', 'ECONNRESET');
    agent.destroy();
  });
});

/** How many signals Node's AbortSignal.any keeps linked to `signal` (its internal set; 0 if none). */
function linkedSignals(signal: AbortSignal): number {
  const symbol = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  // Node's own (primordial) Set, not this test realm's: read its size, no instanceof.
  const set =
    symbol === undefined ? undefined : (signal as unknown as Record<symbol, { size?: number }>)[symbol];
  return set?.size ?? 0;
}
