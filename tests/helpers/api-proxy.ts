import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer the proxy gives itself, instead of asking the API behind it. */
export interface ProxyAnswer {
  status: number;
  body: string;
}

export interface ApiProxyOptions {
  /** Base URL of the API behind (read per request, so it may be started later). */
  upstream: () => string;
  /** Answers a request itself when this returns an answer (e.g. a window that always fails). */
  answer?: (url: URL) => ProxyAnswer | undefined;
  /** Rewrites the text of the API's answers (e.g. to put in what JSON.stringify cannot write). */
  rewrite?: (body: string, url: URL) => string;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of the TMES simulator, for answers the simulator cannot
 * give by itself: answers chosen by the request's query (its window), and page texts edited on
 * the way (a record nested deeper than JSON.stringify can write). Answers are sent uncompressed.
 */
export class ApiProxy {
  /** Requests answered by `answer` (not forwarded). */
  answered = 0;
  private readonly server: Server;

  constructor(private readonly options: ApiProxyOptions) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        res.destroy();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const own = this.options.answer?.(url);
    if (own !== undefined) {
      this.answered++;
      send(res, own.status, { 'content-type': 'application/json; charset=utf-8' }, own.body);
      return;
    }
    const upstream = await forward(this.options.upstream(), req);
    const rewrite = this.options.rewrite;
    const body = rewrite === undefined || upstream.body === '' ? upstream.body : rewrite(upstream.body, url);
    send(res, upstream.status, upstream.headers, body);
  }
}

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The request sent on to the API as is, but asking for an uncompressed answer. */
function forward(base: string, req: IncomingMessage): Promise<Upstream> {
  const target = new URL(req.url ?? '/', base);
  const { 'accept-encoding': _encoding, host: _host, ...headers } = req.headers;
  return new Promise((resolve, reject) => {
    const out = request(target, { method: req.method, headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const kept: Record<string, string> = {};
        for (const name of ['content-type', 'retry-after', 'date']) {
          const value = answer.headers[name];
          if (typeof value === 'string') kept[name] = value;
        }
        resolve({
          status: answer.statusCode ?? 502,
          headers: kept,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      answer.on('error', reject);
    });
    out.on('error', reject);
    req.pipe(out);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
  res.end(bytes);
}
