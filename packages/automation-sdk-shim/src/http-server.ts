import { createServer, type RequestListener, type Server } from 'node:http';
import { closeHttp, listenHttp } from './http';

export interface ListenOptions {
  port: number;
  /** Default 0.0.0.0, like the Python SDK's servers, so the platform can reach the pod. */
  host?: string;
}

/** An HTTP server the runtime starts and stops (health, metrics): one way to bind and to close. */
export class ListeningServer {
  private readonly server: Server;

  constructor(
    private readonly listen: ListenOptions,
    handler: RequestListener,
  ) {
    this.server = createServer(handler);
  }

  /** Resolves with the bound port (useful with port 0). */
  start(): Promise<number> {
    return listenHttp(this.server, this.listen.port, this.listen.host ?? '0.0.0.0');
  }

  stop(): Promise<void> {
    return closeHttp(this.server);
  }
}
