import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import {
  IntakeClient,
  ManualClock,
  MemoryLogger,
  NO_RETRY,
  closeHttp,
  createHttpClient,
  fetchModuleSecrets,
  listenHttp,
} from '@sekoia/automation-sdk-shim';
import { STREAMS } from '../../trigger_fetch_new_logs/streams';
import { TmesClient } from '../../trigger_fetch_new_logs/tmes-client';
import { closedPort } from '../helpers/ports';

/**
 * No error the three HTTP callers (intake push, secrets API, TMES client) can throw carries the
 * Authorization header, the API key, the module token or the intake key — in its message, its
 * fields, or anywhere down its `cause` chain, however it is shown (inspect with hidden fields,
 * JSON, stack). The peers here are hostile: they echo the request's headers and body back.
 */

const API_KEY = 'tmes-api-key-5d1f0e7a9b';
const USERNAME = 'tmes-login-42';
const BASIC = `Basic ${Buffer.from(`${USERNAME}:${API_KEY}`).toString('base64')}`;
const TOKEN = 'module-token-9a8b7c6d5e';
const INTAKE_KEY = 'intake-key-1f2e3d4c5b';
const SECRETS = [API_KEY, BASIC, Buffer.from(`${USERNAME}:${API_KEY}`).toString('base64'), TOKEN, INTAKE_KEY];

/** Every way an error and its causes can be shown. */
function everyRendering(error: unknown): string {
  const texts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    texts.push(
      inspect(e, { depth: 20, showHidden: true }),
      // JSON.stringify answers undefined for some values, whatever its declared type says.
      `${JSON.stringify(e) as string | undefined}`,
      String((e as Error).stack),
    );
    e = (e as { cause?: unknown }).cause;
  }
  return texts.join('\n');
}

type Behaviour = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Echoes the Authorization header and the request body, with `status` (and content types that invite quoting). */
const echo =
  (status: number): Behaviour =>
  (req, res, body) => {
    res.writeHead(status, { 'content-type': 'text/html' });
    res.end(`<html>you sent ${String(req.headers.authorization)} and ${body}</html>`);
  };
const jsonEcho =
  (status: number): Behaviour =>
  (req, res, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    const echoed = `${String(req.headers.authorization)} ${body}`;
    // A 200 JSON array: valid JSON, but the shape no caller expects.
    res.end(JSON.stringify(status === 200 ? [echoed] : { code: 'Echo', message: echoed }));
  };
const reset: Behaviour = (req) => req.socket.destroy();
const hang: Behaviour = () => undefined;

const BEHAVIOURS: [string, Behaviour][] = [
  ['200 HTML echo', echo(200)],
  ['200 JSON array echo', jsonEcho(200)],
  ['401 echo', echo(401)],
  ['403 JSON echo', jsonEcho(403)],
  ['400 JSON echo', jsonEcho(400)],
  ['404 echo', echo(404)],
  ['413 echo', echo(413)],
  ['429 echo', jsonEcho(429)],
  ['500 echo', echo(500)],
  ['502 echo', echo(502)],
  ['connection reset', reset],
  ['no answer (timeout)', hang],
];

const servers: Server[] = [];

async function serve(behaviour: Behaviour): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on('end', () => {
      behaviour(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  servers.push(server);
  return `http://127.0.0.1:${await listenHttp(server, 0, '127.0.0.1')}`;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => closeHttp(server)));
});

const http = createHttpClient({ timeoutMs: 300 });

/** The three callers, one attempt each (no retry), against `url`. */
const CALLERS: [string, (url: string, signal: AbortSignal) => Promise<unknown>][] = [
  [
    'intake push',
    (url, signal) => {
      const clock = new ManualClock();
      const intake = new IntakeClient({
        url,
        intakeKey: INTAKE_KEY,
        logger: new MemoryLogger(),
        clock,
        sleep: clock.sleep,
        http,
        policy: NO_RETRY,
      });
      return intake.push(['{"a":1}', '{"b":2}'], { signal });
    },
  ],
  [
    'secrets API',
    (url, signal) => {
      const clock = new ManualClock();
      return fetchModuleSecrets({
        http,
        url: `${url}/secrets`,
        token: TOKEN,
        clock,
        sleep: clock.sleep,
        policy: NO_RETRY,
        signal,
      });
    },
  ],
  [
    'TMES client',
    async (url, signal) => {
      const clock = new ManualClock();
      const tmes = new TmesClient({
        baseUrl: url,
        username: USERNAME,
        apiKey: API_KEY,
        http,
        clock,
        sleep: clock.sleep,
        logger: new MemoryLogger(),
        policy: NO_RETRY,
      });
      const window = { start: clock.now() - 120_000, end: clock.now() - 60_000 };
      const pages = tmes.pages(STREAMS.policy_events, window, 10, signal);
      // Read to the end: the error, if any, comes out of the iteration.
      for await (const page of pages) expect(page).toBeDefined();
    },
  ],
];

async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function expectNoSecret(error: unknown): void {
  const text = everyRendering(error);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe.each(CALLERS)('%s: no error carries a credential', (_caller, call) => {
  it.each(BEHAVIOURS)('%s', async (_name, behaviour) => {
    const url = await serve(behaviour);
    const error = await thrown(() => call(url, new AbortController().signal));
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(error);
  });

  it('connection refused', async () => {
    const error = await thrown(async () =>
      call(`http://127.0.0.1:${await closedPort()}`, new AbortController().signal),
    );
    expectNoSecret(error);
    // Nothing echoed here: not even the header's name may show.
    expect(everyRendering(error)).not.toMatch(/authorization/i);
  });

  it('aborted while the request is in flight', async () => {
    const url = await serve(hang);
    const stop = new AbortController();
    setTimeout(() => {
      stop.abort();
    }, 50);
    const error = await thrown(() => call(url, stop.signal));
    expectNoSecret(error);
    expect(everyRendering(error)).not.toMatch(/authorization/i);
  });
});
