import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface ScriptedServer {
  url: string;
  /** Headers and path of every request received, in order. */
  readonly requests: { path: string; headers: IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 (ephemeral port) answering with `responses` in order; the last
 * one repeats. Enough to play a platform API (secrets, callback) in tests.
 */
export async function startScriptedServer(responses: ScriptedResponse[]): Promise<ScriptedServer> {
  const requests: ScriptedServer['requests'] = [];
  const server = createServer((request, response) => {
    requests.push({ path: request.url ?? '', headers: request.headers });
    const next = responses[Math.min(requests.length - 1, responses.length - 1)] ?? { status: 500 };
    request.resume();
    request.on('end', () => {
      response.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
      response.end(next.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
