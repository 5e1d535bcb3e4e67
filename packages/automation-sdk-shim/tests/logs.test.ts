import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpClient } from '../src/http';
import { Redactor } from '../src/logger';
import { MemoryLogger } from '../src/testing';
import { LogShipper, RedactingLogger, createModuleLogger } from '../src/logs';
import { ManualClock } from '../src/testing';

interface ShippedLog {
  date: string;
  level: string;
  message: string;
}

/** A logs API on 127.0.0.1 that records requests and answers `status` (or never answers). */
class LogsEndpoint {
  readonly requests: { authorization: string | undefined; logs: ShippedLog[] }[] = [];
  status = 200;
  hang = false;
  private readonly server: Server = createServer((req, res) => {
    this.handle(req, res);
  });
  private readonly pending: ServerResponse[] = [];

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/logs`;
  }

  async stop(): Promise<void> {
    for (const res of this.pending) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  get logs(): ShippedLog[] {
    return this.requests.flatMap((r) => r.logs);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { logs: ShippedLog[] };
      this.requests.push({ authorization: req.headers.authorization, logs: parsed.logs });
      if (this.hang) {
        this.pending.push(res);
        return;
      }
      res.writeHead(this.status, { 'content-type': 'application/json' }).end('{}');
    });
  }
}

/** Waits (boundedly) for real loopback I/O to reach a state. */
async function eventually(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Lets every queued microtask and immediate run, so a send that was going to start has started. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return `http://127.0.0.1:${port}/logs`;
}

describe('LogShipper', () => {
  let endpoint: LogsEndpoint;
  let url: string;
  let clock: ManualClock;
  let local: MemoryLogger;
  let tick: () => void;
  const shippers: LogShipper[] = [];

  function shipper(overrides: Partial<ConstructorParameters<typeof LogShipper>[0]> = {}): LogShipper {
    const s = new LogShipper({
      url,
      token: 'module-token-1234',
      http: createHttpClient(),
      clock,
      local,
      setInterval: (callback) => {
        tick = callback;
        return 1;
      },
      clearInterval: () => undefined,
      ...overrides,
    });
    shippers.push(s);
    return s;
  }

  beforeEach(async () => {
    endpoint = new LogsEndpoint();
    url = await endpoint.start();
    clock = new ManualClock(Date.UTC(2026, 1, 3, 4, 5, 6, 789));
    local = new MemoryLogger();
    tick = () => {
      throw new Error('no interval timer was started');
    };
  });

  afterEach(async () => {
    await Promise.all(shippers.splice(0).map((s) => s.close()));
    await endpoint.stop();
  });

  it('ships a batch once 50 entries are buffered, with the Sekoia body and bearer token', async () => {
    const logs = shipper();
    for (let i = 0; i < 49; i++) logs.log('info', `entry ${i}`);
    await settle();
    expect(endpoint.requests).toHaveLength(0);

    logs.log('info', 'entry 49');
    await eventually(() => endpoint.requests.length === 1, 'the batch');
    const [request] = endpoint.requests;
    expect(request!.authorization).toBe('Bearer module-token-1234');
    expect(request!.logs).toHaveLength(50);
    expect(request!.logs[0]).toEqual({
      date: '2026-02-03T04:05:06.789000',
      level: 'info',
      message: 'entry 0',
    });
    expect(local.entries).toHaveLength(50);
  });

  it('ships what is buffered at every interval tick', async () => {
    const logs = shipper({ flushIntervalMs: 5_000 });
    logs.log('info', 'first');
    logs.log('warning', 'second');
    await settle();
    expect(endpoint.requests).toHaveLength(0);

    tick();
    await eventually(() => endpoint.requests.length === 1, 'the interval send');
    expect(endpoint.logs.map((l) => `${l.level}:${l.message}`)).toEqual(['info:first', 'warning:second']);
  });

  it('leaves nothing linked to its lifetime signal, shipment after shipment', async () => {
    const logs = shipper();
    for (let i = 0; i < 30; i++) {
      logs.log('error', `failure ${i}`);
      await eventually(() => endpoint.requests.length === i + 1, `shipment ${i}`);
    }
    // The shipper's own signal lives as long as it does. AbortSignal.any linked every request's
    // signal to it for good on Node 20 (nodejs/node#54614): one more reference per shipment.
    const lifetime = (logs as unknown as { lifetime: AbortController }).lifetime.signal;
    await settle();
    expect(getEventListeners(lifetime, 'abort')).toHaveLength(0);
    expect(linkedSignals(lifetime)).toBe(0);
  });

  it('ships error and critical entries immediately', async () => {
    const logs = shipper();
    logs.log('info', 'context');
    logs.log('error', 'push failed');
    await eventually(() => endpoint.logs.length === 2, 'the error send');
    logs.log('critical', 'API key revoked');
    await eventually(() => endpoint.logs.length === 3, 'the critical send');
    expect(endpoint.logs.map((l) => l.level)).toEqual(['info', 'error', 'critical']);
  });

  it('suppresses an identical level:message for 60 s on the API but not on stdout', async () => {
    const logs = shipper();
    logs.log('warning', 'slow page');
    logs.log('warning', 'slow page');
    clock.advance(59_999);
    logs.log('warning', 'slow page');
    logs.log('info', 'slow page');
    tick();
    await eventually(() => endpoint.requests.length === 1, 'the first send');
    clock.advance(2);
    logs.log('warning', 'slow page');
    tick();
    await eventually(() => endpoint.requests.length === 2, 'the second send');

    expect(endpoint.logs.map((l) => `${l.level}:${l.message}`)).toEqual([
      'warning:slow page',
      'info:slow page',
      'warning:slow page',
    ]);
    expect(local.entries).toHaveLength(5);
  });

  it('ships only one critical: later ones become errors', async () => {
    const logs = shipper();
    logs.log('critical', 'The API key was refused: fix api_key');
    logs.log('critical', 'Something else is fatal');
    logs.log('critical', 'The API key was refused: fix api_key');
    await eventually(() => endpoint.logs.length === 3, 'three entries');
    expect(endpoint.logs.map((l) => `${l.level}:${l.message}`)).toEqual([
      'critical:The API key was refused: fix api_key',
      'error:Something else is fatal',
      'error:The API key was refused: fix api_key',
    ]);
    expect(local.messages('critical')).toHaveLength(3);
  });

  it('never makes the caller wait for a logs API that does not answer', async () => {
    endpoint.hang = true;
    const logs = shipper({ closeTimeoutMs: 100 });
    const work = new LogsEndpoint();
    const workUrl = await work.start();
    try {
      logs.log('error', 'first failure');
      await eventually(() => endpoint.requests.length === 1, 'the hanging logs request');
      // The caller keeps working (here: its own HTTP round trip) while the logs request is stuck.
      for (let i = 0; i < 20; i++) logs.log('error', `failure ${i}`);
      const answer = await createHttpClient().post(workUrl, JSON.stringify({ logs: [] }));
      expect(answer.status).toBe(200);
      expect(work.requests).toHaveLength(1);
      // Still exactly one request in flight: errors did not pile up sends behind it.
      expect(endpoint.requests).toHaveLength(1);
    } finally {
      await work.stop();
    }
  });

  it('re-buffers on 500, backs off, and delivers everything once the API is back', async () => {
    endpoint.status = 500;
    const logs = shipper({ random: () => 0.5 });
    logs.log('error', 'first');
    await eventually(() => local.messages('warning').length === 1, 'the failed send');
    const failedRequests = endpoint.requests.length;
    logs.log('error', 'second');
    tick();
    await settle();
    // Within the backoff window neither an error nor the timer sends again.
    expect(endpoint.requests).toHaveLength(failedRequests);
    expect(local.messages('warning')[0]).toContain('HTTP 500');

    endpoint.status = 200;
    clock.advance(5_000);
    tick();
    await eventually(() => endpoint.requests.length === failedRequests + 1, 'the retry');
    expect(endpoint.requests.at(-1)!.logs.map((l) => l.message)).toEqual(['first', 'second']);
  });

  it('bounds the buffer while the API fails and reports what it dropped once it is back', async () => {
    endpoint.status = 503;
    const logs = shipper({ maxBuffered: 10 });
    for (let i = 0; i < 25; i++) logs.log('info', `entry ${i}`);
    expect(logs.dropped).toBe(15);
    await logs.flush();
    expect(endpoint.requests).toHaveLength(1);

    endpoint.status = 200;
    await logs.flush();
    const [entries, report] = endpoint.requests.slice(1).map((r) => r.logs.map((l) => l.message));
    expect(entries).toEqual(Array.from({ length: 10 }, (_, i) => `entry ${i + 15}`));
    expect(report).toEqual(['15 log entries were dropped while the logs API was unreachable']);
  });

  it('survives a closed port: log() returns, flush() resolves, stdout has everything', async () => {
    url = await closedPortUrl();
    const logs = shipper();
    for (let i = 0; i < 5; i++) logs.log('error', `failure ${i}`);
    await logs.flush();
    expect(local.messages('error')).toHaveLength(5);
    const warnings = local.messages('warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('ECONNREFUSED');
    expect(warnings[0]).not.toContain('module-token-1234');
  });

  it('redacts secrets (plain and base64) on stdout and on the API', async () => {
    const secret = 'tmes-api-key-SECRET';
    const logs = shipper({ redactor: new Redactor([secret]) });
    const b64 = Buffer.from(secret).toString('base64');
    logs.log('error', `login failed with ${secret} (basic ${b64})`, { key: secret });
    await eventually(() => endpoint.logs.length === 1, 'the error send');
    const shipped = JSON.stringify(endpoint.requests);
    const printed = JSON.stringify(local.entries);
    for (const text of [shipped, printed]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(b64);
      expect(text).toContain('***');
    }
  });

  it('sends what is left on close, and close is bounded when the API is gone', async () => {
    const logs = shipper();
    logs.log('info', 'last words');
    await logs.close();
    expect(endpoint.logs.map((l) => l.message)).toEqual(['last words']);
    logs.log('info', 'after close');
    await settle();
    expect(endpoint.logs).toHaveLength(1);
    expect(local.messages()).toContain('after close');

    endpoint.hang = true;
    const stuck = shipper({ closeTimeoutMs: 50 });
    stuck.log('info', 'never acknowledged');
    await stuck.close();
    expect(local.messages('warning')).toContain(
      '1 log entries could not be sent to the logs API before exit',
    );
  });
});

describe('createModuleLogger', () => {
  it('writes stdout only when there is no logs URL', async () => {
    const lines: string[] = [];
    const http = createHttpClient();
    const post = jest.spyOn(http, 'post');
    const logger = createModuleLogger({
      http,
      clock: new ManualClock(),
      redactor: new Redactor(['intake-key-0000']),
      write: (line) => lines.push(line),
    });
    logger.log('critical', 'bad intake-key-0000');
    await logger.flush();
    await logger.close();
    expect(post).not.toHaveBeenCalled();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'critical', message: 'bad ***' });
  });

  it('ships to the logs API when a URL and a token are configured', async () => {
    const endpoint = new LogsEndpoint();
    const url = await endpoint.start();
    try {
      const lines: string[] = [];
      const logger = createModuleLogger({
        url,
        token: 'tok-123456',
        http: createHttpClient(),
        clock: new ManualClock(),
        redactor: new Redactor(),
        write: (line) => lines.push(line),
      });
      logger.log('info', 'hello');
      await logger.close();
      expect(endpoint.logs.map((l) => l.message)).toEqual(['hello']);
      expect(lines).toHaveLength(1);
    } finally {
      await endpoint.stop();
    }
  });
});

describe('RedactingLogger', () => {
  it('hides secrets learnt after construction', () => {
    const inner = new MemoryLogger();
    const logger = new RedactingLogger(inner);
    logger.log('info', 'key abcd-1234');
    logger.addSecrets(['abcd-1234']);
    logger.log('info', 'key abcd-1234', { detail: 'abcd-1234!' });
    expect(inner.entries.map((e) => [e.message, e.fields])).toEqual([
      ['key abcd-1234', {}],
      ['key ***', { detail: '***!' }],
    ]);
  });
});

/** How many signals Node keeps linked to `signal` (AbortSignal.any's dependants), by its own symbol. */
function linkedSignals(signal: AbortSignal): number {
  const symbol = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  // Node's own (primordial) Set, not this test realm's: read its size, no instanceof.
  const set =
    symbol === undefined ? undefined : (signal as unknown as Record<symbol, { size?: number }>)[symbol];
  return set?.size ?? 0;
}
