// The part every local stand-in shares: listen on a free loopback port, say where, and close with its connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export abstract class LoopbackServer {
  private server: Server | null = null;

  /** What the stand-in answers; a thrown error is the test's to see, as an unanswered request. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Plain HTTP; a stand-in that must speak TLS (the Kubernetes API server) makes an `https` server instead. */
  protected makeServer(listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
    return createServer(listener);
  }

  /** The port it listens on, once started. */
  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  /** @param port a fixed port, to come back where it was after `stop()` (a receiver's outage). @defaultValue a free one */
  async start(port = 0): Promise<this> {
    this.server = this.makeServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
