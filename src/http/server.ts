// Sesame's HTTP front: /slack/events (to Bolt, after checks Bolt lacks), /healthz, /readyz, /metrics; 404 otherwise.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';

/** Slack requests are small; anything larger is refused before it is read. */
export const MAX_SLACK_BODY_BYTES = 1024 * 1024;
/** How far a request timestamp may differ from our clock, either way (Bolt only checks the past). */
const MAX_SKEW_SECONDS = 5 * 60;

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | string>;
  /** Trouble that does not stop Sesame serving (so it stays ready), e.g. an audit stream falling behind. */
  warnings?: Record<string, string>;
}

export interface HttpServerOptions {
  slack: RequestListener | null;
  readiness: () => Promise<Readiness>;
  metrics: Registry;
  now?: () => number;
}

export interface HttpServer extends Server {
  /**
   * For shutdown: cuts every connection that has no whole request on it (silent, or slow to send its headers or
   * body), and returns how many. One whose request has fully arrived stays until it is answered, since its work
   * may already have started and only its answer tells the client so.
   */
  cutUnreceived(): number;
  /** How many connections have a request on them not yet answered. */
  unansweredCount(): number;
  /** Settles once every request received so far is answered (or its connection is gone); at once when none is left. */
  allAnswered(): Promise<void>;
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const now = options.now ?? Date.now;
  const unanswered = new Map<Socket, Set<ServerResponse>>();
  /** How much each connection had sent when its last answer was done: more since means a request is under way. */
  const readWhenAnswered = new WeakMap<Socket, number>();
  let whenAllAnswered: (() => void)[] = [];
  const settleIfAllAnswered = () => {
    if (unanswered.size > 0) return;
    for (const settle of whenAllAnswered) settle();
    whenAllAnswered = [];
  };
  const server = createServer((req, res) => {
    const { socket } = req;
    const onSocket = unanswered.get(socket) ?? new Set<ServerResponse>();
    const behindAnother = onSocket.size > 0;
    unanswered.set(socket, onSocket.add(res));
    // A response queued behind another on a connection that dies never closes itself; the connection's close (below)
    // forgets it then.
    res.once('close', () => {
      readWhenAnswered.set(socket, socket.bytesRead);
      onSocket.delete(res);
      if (onSocket.size > 0) return;
      unanswered.delete(socket);
      settleIfAllAnswered();
    });
    if (!server.listening) {
      // Once closing, each kept-alive connection ends after the answer in hand. Otherwise a client (a load balancer,
      // Slack) that keeps sending on it is served on and on, and close() never finishes: a SIGTERM hit its deadline.
      res.setHeader('connection', 'close');
      // Pipelined behind a request not yet answered, or behind an answer that already ended the connection: this
      // answer may never be written, so it is not acted on (Slack would report a failure while the work went ahead).
      if (behindAnother || socket.writableEnded) return json(res, 503, { error: 'Sesame is shutting down; send this request again (another replica takes it).' });
    }
    void route(req, res).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      if (unanswered.delete(socket)) settleIfAllAnswered();
    });
  });
  const cutUnreceived = (): number => {
    let cut = 0;
    for (const socket of sockets) {
      const pending = [...(unanswered.get(socket) ?? [])];
      if (pending.some((res) => res.req.complete)) {
        // Arrived before close(), so not told yet: the last answer (they go out in order) ends the connection.
        const last = pending.at(-1);
        if (last && !last.headersSent) last.setHeader('connection', 'close');
        continue;
      }
      // Counted when silent or mid-request; not when idle after its answers, which were acted on and sent.
      const answeredAt = readWhenAnswered.get(socket);
      if (answeredAt === undefined || pending.length > 0 || socket.bytesRead > answeredAt) cut++;
      socket.destroy();
    }
    return cut;
  };
  const allAnswered = (): Promise<void> => (unanswered.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenAllAnswered.push(resolve)));
  return Object.assign(server, { cutUnreceived, allAnswered, unansweredCount: () => unanswered.size });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') return json(res, 200, { status: 'ok' });
    if (path === '/readyz' && req.method === 'GET') {
      const readiness = await options.readiness();
      return json(res, readiness.ready ? 200 : 503, readiness);
    }
    if (path === '/metrics' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': options.metrics.contentType });
      res.end(await options.metrics.metrics());
      return;
    }
    if (path === '/slack/events' && options.slack) {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > MAX_SLACK_BODY_BYTES) {
        res.setHeader('connection', 'close');
        return json(res, 413, { error: 'request body too large' });
      }
      const timestamp = Number(req.headers['x-slack-request-timestamp']);
      if (Number.isFinite(timestamp) && timestamp > now() / 1000 + MAX_SKEW_SECONDS) {
        return json(res, 401, { error: 'request timestamp is in the future' });
      }
      options.slack(req, res);
      return;
    }
    json(res, 404, { error: `no such endpoint: ${req.method} ${path}` });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
