import { createServer } from 'node:net';

/** Below Linux's ephemeral range (32768–60999 by default): no client socket is given these. */
const FIXED_PORTS = { from: 20_000, to: 32_000 };

/**
 * A loopback port nothing listens on (bound, then released): connecting to it is refused,
 * and a test may listen on it later. It is taken below the ephemeral range: a port from
 * listen(0) is an ephemeral one, which a client retrying thousands of times against it may
 * get as its own source port (a TCP self-connect) or another process may take meanwhile.
 */
export async function closedPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIXED_PORTS.from + Math.floor(Math.random() * (FIXED_PORTS.to - FIXED_PORTS.from));
    if (await bindsAndReleases(port)) return port;
  }
  throw new Error(`no free port between ${FIXED_PORTS.from} and ${FIXED_PORTS.to}`);
}

function bindsAndReleases(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}
