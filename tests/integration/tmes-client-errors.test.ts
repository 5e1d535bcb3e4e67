import { createServer as createHttpServer, type Server } from 'node:http';
import { inspect } from 'node:util';
import {
  AuthenticationError,
  NetworkFailure,
  ResponseError,
  TransientError,
  createHttpClient,
} from '@sekoia/automation-sdk-shim';
import { ManualClock, MemoryLogger, closeHttp, listenHttp } from '@sekoia/automation-sdk-shim/testing';
import type { AttemptFailure } from '../../trigger_fetch_new_logs/api-stall-watch';
import { STREAMS, type StreamName } from '../../trigger_fetch_new_logs/streams';
import { TmesClient } from '../../trigger_fetch_new_logs/tmes-client';
import { closedPort } from '../helpers/ports';
import { TokenApi, makeRecords } from '../helpers/token-api';
import { offlineLookup } from '../helpers/offline-lookup';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const WINDOW = { start: NOW - 3_600_000, end: NOW - 60_000 };
const USERNAME = 'secret-test-login';
const API_KEY = 'tmes-api-key-7c1e93d0';
const BASIC = Buffer.from(`${USERNAME}:${API_KEY}`).toString('base64');
const stream = STREAMS.accepted_traffic;

interface Observed {
  failed: AttemptFailure[];
  succeeded: number;
}

function client(baseUrl: string, observed?: Observed, timeoutMs = 2_000): TmesClient {
  const clock = new ManualClock(NOW);
  return new TmesClient({
    baseUrl,
    username: USERNAME,
    apiKey: API_KEY,
    http: createHttpClient({ timeoutMs, lookup: offlineLookup }),
    clock,
    sleep: clock.sleep,
    logger: new MemoryLogger(),
    random: () => 0.5,
    // One attempt, no retry: each error comes straight back.
    policy: { initialMs: 0, maxMs: 0, deadlineMs: -1 },
    tokenPolicy: { maxRestartsWithoutProgress: 2 },
    ...(observed === undefined
      ? {}
      : {
          observer: {
            failed: (_: StreamName, failure: AttemptFailure) => observed.failed.push(failure),
            succeeded: () => {
              observed.succeeded++;
            },
          },
        }),
  });
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** Reads a whole window; resolves with the number of records yielded. */
async function readAll(c: TmesClient): Promise<number> {
  let records = 0;
  for await (const page of c.pages(stream, WINDOW, 10, new AbortController().signal))
    records += page.logs.length;
  return records;
}

/** Every way an error and its causes can be shown: inspect (hidden fields too), JSON, stack. */
function everyRendering(error: unknown): string {
  const texts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    texts.push(inspect(e, { depth: 20, showHidden: true }), JSON.stringify(e), String((e as Error).stack));
    e = (e as { cause?: unknown }).cause;
  }
  return texts.join('\n');
}

function expectNoSecret(error: unknown): void {
  const text = everyRendering(error);
  expect(text).not.toContain(API_KEY);
  expect(text).not.toContain(BASIC);
  expect(text).not.toMatch(/authorization/i);
}

/** A plain HTTP server answering `status` with `body` (or never, when status is 0). */
async function answering(status: number, body = ''): Promise<{ url: string; server: Server }> {
  const server = createHttpServer((req, res) => {
    req.resume();
    if (status === 0) return; // hang: the client's timeout fires
    res.writeHead(status, { 'content-type': 'text/html' }).end(body);
  });
  const port = await listenHttp(server, 0, '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, server };
}

describe('TMES client errors: causes that name the problem and never carry the credentials', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => closeHttp(s)));
  });

  async function serve(status: number, body = ''): Promise<string> {
    const { url, server } = await answering(status, body);
    servers.push(server);
    return url;
  }

  it('connection refused: a TransientError whose cause is a safe NetworkFailure (refused)', async () => {
    const observed: Observed = { failed: [], succeeded: 0 };
    const error = await caught(readAll(client(`http://127.0.0.1:${await closedPort()}`, observed)));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.cause).toBeInstanceOf(NetworkFailure);
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED', kind: 'refused' });
    expect(observed.failed).toEqual([{ kind: 'network', network: 'refused', code: 'ECONNREFUSED' }]);
    expectNoSecret(error);
  });

  it('a host name that does not resolve: kind dns', async () => {
    const observed: Observed = { failed: [], succeeded: 0 };
    const error = await caught(readAll(client('https://api.tmes.invalid', observed)));
    expect(error.cause).toBeInstanceOf(NetworkFailure);
    expect((error.cause as NetworkFailure).kind).toBe('dns');
    expect(observed.failed[0]).toMatchObject({ kind: 'network', network: 'dns' });
    expectNoSecret(error);
  });

  it('TLS spoken to a plain HTTP port: kind tls (a failed handshake)', async () => {
    const url = (await serve(200, '{}')).replace('http://', 'https://');
    const observed: Observed = { failed: [], succeeded: 0 };
    const error = await caught(readAll(client(url, observed)));
    expect(error).toBeInstanceOf(TransientError);
    expect((error.cause as NetworkFailure).kind).toBe('tls');
    expect(observed.failed[0]).toMatchObject({ kind: 'network', network: 'tls' });
    expectNoSecret(error);
  });

  it('a server that never answers: kind timeout', async () => {
    const error = await caught(readAll(client(await serve(0), undefined, 200)));
    expect((error.cause as NetworkFailure).kind).toBe('timeout');
    expectNoSecret(error);
  });

  it('HTTP 500 and an HTML 200: the observer hears status / body; no secret in the errors', async () => {
    const observed: Observed = { failed: [], succeeded: 0 };
    const failing = await caught(readAll(client(await serve(500, 'oops'), observed)));
    expect(failing).toBeInstanceOf(TransientError);
    expectNoSecret(failing);
    const html = await caught(readAll(client(await serve(200, '<html>maintenance</html>'), observed)));
    expect(html).toBeInstanceOf(TransientError);
    expectNoSecret(html);
    expect(observed.failed).toEqual([{ kind: 'status', status: 500 }, { kind: 'body' }]);
  });

  it('credentials refused (no token): AuthenticationError, counted as an answer (the API is reachable)', async () => {
    const observed: Observed = { failed: [], succeeded: 0 };
    const clock = new ManualClock(NOW);
    const api = new TokenApi({
      clock,
      records: makeRecords(5, WINDOW.start),
      username: 'other',
      apiKey: 'other',
    });
    const error = await caught(readAll(client(await api.start(), observed)));
    await api.stop();
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(observed).toEqual({ failed: [], succeeded: 1 });
    expectNoSecret(error);
  });

  it('a 401 whose body is announced as gzip but sent plain: still an AuthenticationError', async () => {
    // A proxy's error page under a wrong Content-Encoding: the status decides, not the body.
    const server = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end('<html>401</html>');
    });
    servers.push(server);
    const port = await listenHttp(server, 0, '127.0.0.1');
    const error = await caught(readAll(client(`http://127.0.0.1:${port}`)));
    expect(error).toBeInstanceOf(AuthenticationError);
    expectNoSecret(error);
  });

  it('a 200 whose body does not decode is never read as an empty page (which would end the window)', async () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
        .end('{"logs":[]}');
    });
    servers.push(server);
    const port = await listenHttp(server, 0, '127.0.0.1');
    const error = await caught(readAll(client(`http://127.0.0.1:${port}`)));
    expect(error).toBeInstanceOf(TransientError);
    expectNoSecret(error);
  });

  it('tokens refused until the restart bound: a ResponseError without the credentials', async () => {
    const clock = new ManualClock(NOW);
    const api = new TokenApi({
      clock,
      records: makeRecords(30, WINDOW.start),
      username: USERNAME,
      apiKey: API_KEY,
      refuseEveryToken: 403,
    });
    const error = await caught(readAll(client(await api.start())));
    await api.stop();
    expect(error).toBeInstanceOf(ResponseError);
    expectNoSecret(error);
  });

  it('the clock probe, refused: a TransientError with a safe cause', async () => {
    const c = client(`http://127.0.0.1:${await closedPort()}`);
    const error = await caught(c.probe(stream, new AbortController().signal));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.cause).toBeInstanceOf(NetworkFailure);
    expectNoSecret(error);
  });
});
