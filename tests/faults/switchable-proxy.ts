import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, that can be switched off: while down,
 * new connections are reset and open ones are cut, as when the service behind becomes unreachable.
 */
export class SwitchableProxy {
  /** Connections refused (reset) while down. */
  refused = 0;
  private isDown = false;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly upstreamPort: number) {
    this.server = createServer((client) => {
      if (this.isDown) {
        this.refused++;
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return `http://127.0.0.1:${port}`;
  }

  get down(): boolean {
    return this.isDown;
  }

  set down(value: boolean) {
    this.isDown = value;
    if (value) for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }
}
