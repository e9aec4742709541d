// A fake Slack Web API on loopback: records every call, keeps user groups and channels, serves response_url.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
}

export interface Injected {
  status?: number;
  retryAfter?: number;
  error?: string;
}

export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly responses: { id: string; body: Record<string, unknown> }[] = [];
  readonly usergroups = new Map<string, string[]>();
  private readonly responseWaiters = new Map<string, (body: Record<string, unknown>) => void>();
  /** Channels Slack knows; Sesame is a member unless `is_member: false`. */
  readonly channels = new Map<string, { name: string; is_im?: boolean; is_private?: boolean; is_member?: boolean }>();
  readonly emails = new Map<string, string>();
  /** How users.info describes people beyond their email; unlisted users are full members of T0TEAM. */
  readonly users = new Map<string, { is_restricted?: boolean; is_ultra_restricted?: boolean; team_id?: string }>();
  /** Messages posted and not deleted, by ts, as a user would still see them. */
  readonly messages = new Map<string, Record<string, unknown>>();
  private readonly failures = new Map<string, Injected[]>();
  private server: Server | null = null;
  private sockets: WebSocketServer | null = null;
  /** Socket Mode connections the app has opened. */
  readonly connections: WebSocket[] = [];
  /** Acks the app sent back over Socket Mode, by envelope id. */
  readonly acks = new Map<string, Record<string, unknown>>();
  private seq = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    this.sockets = new WebSocketServer({ server: this.server, path: '/link' });
    this.sockets.on('connection', (socket) => {
      this.connections.push(socket);
      socket.on('message', (data) => {
        const ack = JSON.parse(String(data)) as Record<string, unknown>;
        this.acks.set(String(ack.envelope_id), ack);
      });
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0SESAME' } }));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.terminate();
    await new Promise<void>((resolve) => (this.sockets ? this.sockets.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  responseUrl(id: string): string {
    return `${this.url}/response/${id}`;
  }

  /** Delivers a payload over the newest Socket Mode connection, as Slack does; returns its envelope id. */
  sendEnvelope(type: string, payload: Record<string, unknown>): string {
    const socket = this.connections.at(-1);
    if (!socket) throw new Error('no Socket Mode connection');
    const envelopeId = randomUUID();
    socket.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api' }));
    return envelopeId;
  }

  /** The next calls of `method` fail as given, in order. */
  failNext(method: string, ...failures: Injected[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...failures]);
  }

  callsTo(method: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  /** The first response_url post for `id`, as soon as it arrives (no polling: the benchmark measures with it). */
  firstResponse(id: string): Promise<Record<string, unknown>> {
    const seen = this.responses.find((r) => r.id === id);
    if (seen) return Promise.resolve(seen.body);
    return new Promise((resolve) => this.responseWaiters.set(id, resolve));
  }

  responsesTo(id: string): Record<string, unknown>[] {
    return this.responses.filter((r) => r.id === id).map((r) => r.body);
  }

  /** Waits (polling, generously bounded) until `check` returns something truthy. */
  async waitFor<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/response/')) {
      const response = { id: path.slice('/response/'.length), body: JSON.parse(raw) as Record<string, unknown> };
      this.responses.push(response);
      this.responseWaiters.get(response.id)?.(response.body);
      this.responseWaiters.delete(response.id);
      return { status: 200, body: { ok: true } };
    }
    const method = path.replace(/^\/api\//, '');
    const args = parseArgs(raw, String(req.headers['content-type'] ?? ''));
    this.calls.push({ method, args });
    const failure = this.failures.get(method)?.shift();
    if (failure?.status === 429) return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(failure.retryAfter ?? 1) } };
    if (failure) return { status: failure.status ?? 200, body: { ok: false, error: failure.error ?? 'internal_error' } };
    return { status: 200, body: this.answer(method, args) };
  }

  private answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    const ts = () => `1700000000.${String(++this.seq).padStart(6, '0')}`;
    switch (method) {
      case 'apps.connections.open':
        return { ok: true, url: `${this.url.replace('http', 'ws')}/link` };
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0TEAM', user: 'sesame', url: 'https://example.slack.com/' };
      case 'chat.postMessage': {
        const posted = ts();
        this.messages.set(posted, args);
        return { ok: true, channel: args.channel, ts: posted, message: { text: args.text } };
      }
      case 'chat.delete': {
        const message = this.messages.get(String(args.ts));
        if (message?.channel !== args.channel) return { ok: false, error: 'message_not_found' };
        this.messages.delete(String(args.ts));
        return { ok: true, channel: args.channel, ts: args.ts };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'views.open':
      case 'views.publish':
      case 'views.update':
        return { ok: true, view: { id: `V${++this.seq}` } };
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(args.usergroup));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
      case 'usergroups.list':
        return { ok: true, usergroups: [...this.usergroups.keys()].map((id) => ({ id, handle: id.toLowerCase() })) };
      case 'usergroups.users.update': {
        this.usergroups.set(String(args.usergroup), String(args.users).split(',').filter(Boolean));
        return { ok: true, usergroup: { id: args.usergroup } };
      }
      case 'conversations.info': {
        const channel = this.channels.get(String(args.channel));
        return channel ? { ok: true, channel: { id: args.channel, is_im: false, is_member: true, ...channel } } : { ok: false, error: 'channel_not_found' };
      }
      case 'users.info': {
        const id = String(args.user);
        return { ok: true, user: { id, team_id: 'T0TEAM', is_restricted: false, is_ultra_restricted: false, ...this.users.get(id), profile: { email: this.emails.get(id) ?? null } } };
      }
      default:
        return { ok: true };
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The Web API client sends forms whose object values are JSON; decode both shapes into plain values. */
function parseArgs(raw: string, contentType: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    out[key] = /^[[{]/.test(value) ? safeJson(value) : value;
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
