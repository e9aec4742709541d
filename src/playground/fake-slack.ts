// A local stand-in for Slack's Web API: serves the methods Sesame calls, keeps the workspace they change
// (messages, App Home tabs, modals, user groups), serves response_url, and tells listeners when anything changed.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { blocksOf, parseArgs, readBody, safeJsonObject, viewOf } from './wire.ts';
import { BOT_USER, WorkspaceState, type ResponseContext } from './workspace-state.ts';

export { BOT_USER, type ResponseContext, type StoredMessage, type StoredView } from './workspace-state.ts';

export interface RecordedCall {
  method: string;
  args: Record<string, unknown>;
}

export interface Injected {
  status?: number;
  retryAfter?: number;
  error?: string;
}

export interface Person {
  name: string;
  realName?: string;
  email?: string;
}

export class FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly responses: { id: string; body: Record<string, unknown> }[] = [];
  readonly usergroups = new Map<string, string[]>();
  private readonly responseWaiters = new Map<string, (body: Record<string, unknown>) => void>();
  /** The first response_url post of each id, so that waiting for one does not scan every response so far. */
  private readonly firstResponses = new Map<string, Record<string, unknown>>();
  /** Channels Slack knows; Sesame is a member unless `is_member: false`. */
  readonly channels = new Map<string, { name: string; is_im?: boolean; is_private?: boolean; is_member?: boolean; is_archived?: boolean }>();
  readonly emails = new Map<string, string>();
  /** How users.info describes people's standing (and time zone, `tz`); unlisted users are full members of T0TEAM without one. */
  readonly users = new Map<string, { is_restricted?: boolean; is_ultra_restricted?: boolean; team_id?: string; tz?: string }>();
  /** Display names for users.info and for the page. */
  readonly people = new Map<string, Person>();
  private readonly listeners = new Set<() => void>();
  /** Messages, App Home tabs and modals, as the Web API calls left them. */
  readonly workspace = new WorkspaceState(() => this.changed());

  /** Messages posted and not deleted, by ts, as people would still see them. */
  get messages(): Map<string, Record<string, unknown>> {
    return new Map(this.workspace.messages.map((m) => [m.ts, { channel: m.channel, text: m.text, blocks: m.blocks }]));
  }
  private readonly failures = new Map<string, Injected[]>();
  private server: Server | null = null;
  private sockets: WebSocketServer | null = null;
  /** Socket Mode connections the app has opened. */
  readonly connections: WebSocket[] = [];
  /** Acks the app sent back over Socket Mode, by envelope id. */
  readonly acks = new Map<string, Record<string, unknown>>();
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
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** The response_url for `id`; with a context, what is posted there also shows in the workspace. */
  responseUrl(id: string, context?: ResponseContext): string {
    if (context) this.workspace.bindResponse(id, context);
    return `${this.url}/response/${id}`;
  }

  /** Called after every change to the workspace (a message, a view, a user group). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
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
    const seen = this.firstResponses.get(id);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.responseWaiters.set(id, resolve));
  }

  responsesTo(id: string): Record<string, unknown>[] {
    return this.responses.filter((r) => r.id === id).map((r) => r.body);
  }

  /** Waits (polling, generously bounded) until `check` returns something truthy. */
  async waitFor<T>(check: () => T | undefined | null | false | PromiseLike<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    // Sesame's Web API client never sends an Origin; a browser always does on a cross-site POST. Without this, any web
    // page open beside the playground could rewrite user groups (who may approve) with a plain form post.
    if (req.headers.origin !== undefined) return { status: 403, body: { ok: false, error: 'not_allowed_from_a_browser' } };
    const raw = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path.startsWith('/response/')) {
      const response = { id: path.slice('/response/'.length), body: safeJsonObject(raw) };
      this.responses.push(response);
      if (!this.firstResponses.has(response.id)) this.firstResponses.set(response.id, response.body);
      this.responseWaiters.get(response.id)?.(response.body);
      this.responseWaiters.delete(response.id);
      this.workspace.showResponse(response.id, response.body);
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
    switch (method) {
      case 'apps.connections.open':
        return { ok: true, url: `${this.url.replace('http', 'ws')}/link` };
      case 'auth.test':
        return { ok: true, user_id: BOT_USER, bot_id: 'BBOT', team_id: 'T0TEAM', user: 'sesame', url: 'https://example.slack.com/' };
      case 'chat.postMessage': {
        const message = this.workspace.post({ channel: String(args.channel), user: BOT_USER, text: String(args.text ?? ''), blocks: blocksOf(args), ...(args.thread_ts ? { threadTs: String(args.thread_ts) } : {}) });
        return { ok: true, channel: args.channel, ts: message.ts, message: { text: args.text } };
      }
      case 'chat.postEphemeral': {
        const message = this.workspace.post({ channel: String(args.channel), user: BOT_USER, text: String(args.text ?? ''), blocks: blocksOf(args), visibleTo: String(args.user) });
        return { ok: true, message_ts: message.ts };
      }
      case 'chat.update':
        // A message the stand-in never showed (tests that start from a card they did not post) is still "updated".
        this.workspace.update(String(args.channel), String(args.ts), args.text === undefined ? undefined : String(args.text), args.blocks === undefined ? undefined : blocksOf(args));
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'chat.delete':
        if (!this.workspace.message(String(args.channel), String(args.ts))) return { ok: false, error: 'message_not_found' };
        this.workspace.remove(String(args.channel), String(args.ts));
        return { ok: true, channel: args.channel, ts: args.ts };
      case 'views.open': {
        const id = this.workspace.openModal(String(args.trigger_id), viewOf(args));
        return { ok: true, view: { id, ...viewOf(args) } };
      }
      case 'views.publish': {
        const id = this.workspace.publishHome(String(args.user_id), viewOf(args));
        return { ok: true, view: { id, ...viewOf(args) } };
      }
      case 'views.update': {
        const id = String(args.view_id ?? this.workspace.nextViewId());
        this.workspace.replaceModal(id, viewOf(args));
        return { ok: true, view: { id, ...viewOf(args) } };
      }
      case 'usergroups.list':
        return { ok: true, usergroups: [...this.usergroups.keys()].map((id) => ({ id, users: this.usergroups.get(id) })) };
      case 'usergroups.users.list': {
        const users = this.usergroups.get(String(args.usergroup));
        return users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      }
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
        const person = this.people.get(id);
        const email = this.emails.get(id) ?? person?.email ?? null;
        const standing = { team_id: 'T0TEAM', is_restricted: false, is_ultra_restricted: false, ...this.users.get(id) };
        return { ok: true, user: { id, ...standing, name: person?.name ?? id.toLowerCase(), real_name: person?.realName ?? person?.name ?? id, profile: { email, real_name: person?.realName ?? person?.name ?? id } } };
      }
      default:
        return { ok: true };
    }
  }
}
