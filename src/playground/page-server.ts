// The playground's web page and the small API behind it: the workspace as one person sees it, live updates
// over Server-Sent Events, and what that person does, handed to the stand-in to send to Sesame signed.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { BOT_USER, type FakeSlack, type StoredMessage } from './fake-slack.ts';
import type { EventsSender, Delivered } from './events-sender.ts';
import type { BlockJson, MessageJson, Snapshot, SubmitAnswer, ViewJson } from './protocol.ts';
import { compileBrowserModule } from './browser-modules.ts';
import type { StorePort } from '../core/store-port.ts';
import { usergroupHandle } from './workspace.ts';

const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));
/** How often the audit log is looked at for new rows: it is written by Sesame, not by the stand-in. */
const AUDIT_POLL_MS = 250;
const MAX_BODY_BYTES = 256 * 1024;

const userId = z.string().regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id');
const commandSchema = z.object({ user: userId, channel: z.string().min(1), text: z.string().min(1).max(4_000) });
const clickSchema = z.object({
  user: userId,
  channel: z.string().optional(),
  ts: z.string().optional(),
  viewId: z.string().optional(),
  actionId: z.string(),
  blockId: z.string(),
  value: z.string(),
  text: z.string(),
});
const submitSchema = z.object({ user: userId, viewId: z.string(), values: z.record(z.string(), z.record(z.string(), z.string().nullable())) });
const viewSchema = z.object({ user: userId, viewId: z.string() });
const homeSchema = z.object({ user: userId });
const ackSchema = z.object({ response_action: z.enum(['errors', 'update', 'clear', 'push']).optional(), errors: z.record(z.string(), z.string()).optional(), view: z.record(z.string(), z.unknown()).optional() });

export interface PageServerDeps {
  slack: FakeSlack;
  sender: EventsSender;
  /** Sesame's store, read for the audit log and grants. */
  store: StorePort;
}

export function createPageServer(deps: PageServerDeps): Server {
  const { slack, sender, store } = deps;
  const workspace = slack.workspace;
  const streams = new Set<ServerResponse>();
  const notify = () => {
    for (const stream of streams) stream.write('event: change\ndata: {}\n\n');
  };
  const unsubscribe = slack.onChange(notify);
  const lastAuditId = async () => (await store.recent.auditEntries(1))[0]?.id ?? 0;
  let seenAudit: number | null = null;
  void lastAuditId().then((id) => (seenAudit ??= id), () => undefined);
  const poll = setInterval(() => {
    void lastAuditId().then((latest) => {
      if (seenAudit !== null && latest !== seenAudit) notify();
      seenAudit = latest;
    }, () => undefined);
  }, AUDIT_POLL_MS);
  poll.unref();

  const server = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { problem: `The playground failed: ${error instanceof Error ? error.message : String(error)}. Reload the page and try again.` });
    });
  });
  server.on('close', () => {
    clearInterval(poll);
    unsubscribe();
  });
  return server;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://playground');
    // Reads too: a page whose DNS name was rebound to 127.0.0.1 would otherwise read everyone's DMs and the audit log.
    if (!onLoopbackHost(req)) return json(res, 403, { problem: 'Open the playground at http://127.0.0.1 or http://localhost; other host names are refused.' });
    if (req.method === 'GET') {
      if (url.pathname === '/') return file(res, 'index.html', 'text/html; charset=utf-8');
      if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
      if (url.pathname === '/style.css') return file(res, 'style.css', 'text/css; charset=utf-8');
      if (url.pathname.startsWith('/js/')) return script(res, url.pathname.slice('/js/'.length));
      if (url.pathname === '/ui/state') {
        // Someone the policy does not name (a stale choice from another policy) falls back to its first person.
        const asked = url.searchParams.get('user') ?? '';
        const user = userId.safeParse(slack.people.has(asked) ? asked : firstPerson());
        return user.success ? json(res, 200, await snapshot(user.data)) : json(res, 400, { problem: 'Choose who to act as: ?user= needs a Slack user id like U0ALICE.' });
      }
      if (url.pathname === '/ui/events') return stream(req, res);
    }
    if (req.method === 'POST') {
      // Only this page may act: other sites could otherwise post here from the same browser (and with a policy
      // whose providers are real, grant real access). Their requests carry another Origin, or cannot be JSON.
      if (!fromThisPage(req)) return json(res, 403, { problem: 'Only the playground page itself may do this; open it at its own address.' });
      const body = await readJson(req);
      switch (url.pathname) {
        case '/ui/command': {
          const input = commandSchema.safeParse(body);
          if (!input.success) return refuse(res, 'Type a message, or a command like /access help.');
          if (!input.data.text.startsWith('/')) {
            workspace.post({ channel: input.data.channel, user: input.data.user, text: input.data.text, blocks: [] });
            return json(res, 200, {});
          }
          if (!/^\/access(\s|$)/.test(input.data.text)) return refuse(res, `${input.data.text.split(/\s/)[0]} is not a command here; Sesame's command is /access (try /access help).`);
          return delivered(res, await sender.command(input.data.user, input.data.channel, input.data.text));
        }
        case '/ui/click': {
          const input = clickSchema.safeParse(body);
          if (!input.success) return refuse(res, 'That click did not say which button it was; reload the page and try again.');
          const { user, channel, ts, viewId, ...button } = input.data;
          const message = channel && ts ? workspace.message(channel, ts) : undefined;
          if (message) return delivered(res, await sender.clickInMessage(user, message, button));
          const view = viewId ? ([...workspace.homes.values(), ...workspace.modals].find((v) => v.id === viewId) ?? null) : null;
          if (view) return delivered(res, await sender.clickInView(user, view, button));
          return refuse(res, 'That message or view is gone; reload the page to see the current ones.');
        }
        case '/ui/submit': {
          const input = submitSchema.safeParse(body);
          if (!input.success) return refuse(res, 'That form did not arrive whole; close it and open it again.');
          const modal = workspace.modals.find((m) => m.id === input.data.viewId && m.user === input.data.user);
          if (!modal) return refuse(res, 'That form is no longer open; open it again.');
          const answer = await sender.submit(input.data.user, modal, input.data.values);
          if (answer.status !== 200) return delivered(res, answer);
          return json(res, 200, afterSubmit(modal.id, modal.user, answer.body) satisfies SubmitAnswer);
        }
        case '/ui/close': {
          const input = viewSchema.safeParse(body);
          if (!input.success) return refuse(res, 'Say which form to close.');
          workspace.closeModal(input.data.viewId);
          return json(res, 200, {});
        }
        case '/ui/home': {
          const input = homeSchema.safeParse(body);
          if (!input.success) return refuse(res, 'Choose who to act as first.');
          return delivered(res, await sender.openHome(input.data.user));
        }
      }
    }
    json(res, 404, { problem: `There is nothing at ${req.method} ${url.pathname}; open / for the playground.` });
  }

  /** Slack closes a submitted modal unless the ack kept it open with errors or replaced it. */
  function afterSubmit(viewId: string, user: string, ackBody: string): SubmitAnswer {
    const parsed = ackSchema.safeParse(ackBody.trim() ? safeJson(ackBody) : {});
    const ack = parsed.success ? parsed.data : {};
    if (ack.response_action === 'errors') return { errors: ack.errors ?? {} };
    if (ack.response_action === 'update' && ack.view) workspace.replaceModal(viewId, ack.view);
    else if (ack.response_action === 'clear') for (const m of workspace.modals.filter((x) => x.user === user)) workspace.closeModal(m.id);
    else workspace.closeModal(viewId);
    return { errors: {} };
  }

  async function snapshot(me: string): Promise<Snapshot> {
    const visible = (m: StoredMessage) => (m.visibleTo === undefined || m.visibleTo === me) && (!isUser(m.channel) || m.channel === me);
    const home = workspace.homes.get(me);
    const modal = workspace.modals.filter((m) => m.user === me).at(-1);
    return {
      me,
      bot: BOT_USER,
      people: [...slack.people].map(([id, p]) => ({ id, name: p.name, realName: p.realName ?? p.name })),
      channels: [...slack.channels].map(([id, c]) => ({ id, name: c.name })),
      usergroups: [...slack.usergroups.keys()].map((id) => ({ id, handle: usergroupHandle(id) })),
      messages: workspace.messages.filter(visible).map(messageJson),
      home: home ? { id: home.id, view: viewJson(home.view) } : null,
      modal: modal ? { id: modal.id, view: viewJson(modal.view) } : null,
      audit: await store.recent.auditEntries(60),
      grants: await store.recent.grants(20),
      now: Date.now(),
    };
  }

  function firstPerson(): string {
    return slack.people.keys().next().value ?? '';
  }

  function stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  }
}

/** Views are passed on as Sesame sent them; the page renders what it knows and skips the rest. */
const viewJson = (view: Record<string, unknown>): ViewJson => ({ ...view, type: String(view.type ?? 'modal') }) as ViewJson;

/** Addressed by a loopback host name: a rebound DNS name is not one. */
const onLoopbackHost = (req: IncomingMessage): boolean => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(req.headers.host ?? '');

/** A same-origin JSON request on a loopback host name. */
function fromThisPage(req: IncomingMessage): boolean {
  const host = req.headers.host ?? '';
  if (!onLoopbackHost(req)) return false;
  if (req.headers.origin !== undefined && req.headers.origin !== `http://${host}`) return false;
  return String(req.headers['content-type'] ?? '').startsWith('application/json');
}

const isUser = (id: string) => /^[UW]/.test(id);

function messageJson(m: StoredMessage): MessageJson {
  return { channel: m.channel, ts: m.ts, at: m.at, user: m.user, text: m.text, blocks: m.blocks as BlockJson[], ...(m.threadTs ? { threadTs: m.threadTs } : {}), ephemeral: m.visibleTo !== undefined, edited: m.edited === true };
}

/** Sesame's answer to a command or click: nothing to show when it acked, a sentence when it refused. */
function delivered(res: ServerResponse, answer: Delivered): void {
  if (answer.status === 200) return json(res, 200, {});
  json(res, 502, { problem: `Sesame answered ${answer.status} (${answer.body.slice(0, 200)}); see the playground's terminal for its log.` });
}

function refuse(res: ServerResponse, problem: string): void {
  json(res, 400, { problem });
}

async function file(res: ServerResponse, name: string, type: string): Promise<void> {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(await readFile(`${WEB_DIR}${name}`));
}

/** Serves src/playground/web/NAME.ts as JavaScript; only the modules that are there, by name. */
async function script(res: ServerResponse, file: string): Promise<void> {
  const name = file.replace(/\.js$/, '');
  const modules = (await readdir(WEB_DIR)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  if (!modules.includes(name)) return json(res, 404, { problem: `There is no browser module ${file}.` });
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
  res.end(await compileBrowserModule(`${WEB_DIR}${name}.ts`));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return safeJson(Buffer.concat(chunks).toString('utf8'));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
