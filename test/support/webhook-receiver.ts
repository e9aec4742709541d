// A webhook receiver on loopback, as a customer would write one: it checks the timestamped HMAC signature (refusing a
// `t` more than 5 minutes off, so a captured call cannot be replayed) and keeps who has access.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { webhookPayloadSchema, type WebhookPayload } from '../../src/providers/webhook.ts';
import { LoopbackServer } from './loopback-server.ts';

const TOLERANCE_SECONDS = 5 * 60;

export type ReceiverMode = 'ok' | 'fail' | 'garbage' | 'slow';

/** A call the receiver holds unanswered: which grant it is for and the caller's port (to tell which process made it). */
export interface HeldCall {
  grantId: string;
  callerPort: number;
}

interface Hold {
  event: string;
  arrived: (call: HeldCall) => void;
  released: Promise<void>;
}

export class WebhookReceiver extends LoopbackServer {
  readonly received: { event: string; signatureValid: boolean; signature: string; contentType: string; payload: WebhookPayload | null; raw: string; headers: IncomingHttpHeaders; method: string; path: string }[] = [];
  readonly present = new Set<string>();
  mode: ReceiverMode = 'ok';
  /** Moves the receiver's clock, to see how it treats a signature made that long ago (or ahead). */
  clockOffsetSeconds = 0;
  /** Answers this many more requests with 503 whatever the mode, as a receiver having a bad moment does. */
  failNext = 0;
  message: string | undefined = 'connect with: ssh bastion.example.com';

  private readonly holds: Hold[] = [];

  /**
   * The next `event` call (grant or revoke) is held unanswered until `release()`, as a provider hanging mid-call;
   * `arrived` resolves when it comes in. Its caller may die meanwhile (the answer then goes nowhere).
   */
  holdNext(event: 'grant' | 'revoke'): { arrived: Promise<HeldCall>; release(): void } {
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const arrived = new Promise<HeldCall>((resolve) => this.holds.push({ event, arrived: resolve, released }));
    return { arrived, release };
  }

  constructor(private readonly secret: string) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Accepts `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<signed>">` made with our secret within the last 5 minutes. */
  private verify(signed: string, header: string | undefined): boolean {
    const fields = new Map((header ?? '').split(',').map((part) => [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)] as const));
    const t = fields.get('t') ?? '';
    if (!/^\d+$/.test(t)) return false;
    const now = Math.floor(Date.now() / 1000) + this.clockOffsetSeconds;
    if (Math.abs(now - Number(t)) > TOLERANCE_SECONDS) return false;
    const expected = Buffer.from(createHmac('sha256', this.secret).update(`${t}.${signed}`).digest('hex'));
    const given = Buffer.from(fields.get('v1') ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const event = String(req.headers['x-sesame-event'] ?? '');
    const signed = req.method === 'GET' ? url.search.slice(1) : raw;
    const signature = String(req.headers['x-sesame-signature'] ?? '');
    const signatureValid = this.verify(signed, signature);
    const parsed = req.method === 'POST' ? webhookPayloadSchema.safeParse(safeJson(raw)) : null;
    this.received.push({ event, signatureValid, signature, contentType: String(req.headers['content-type']), payload: parsed?.success ? parsed.data : null, raw, headers: req.headers, method: req.method ?? '', path: req.url ?? '' });

    const hold = this.holds.findIndex((h) => h.event === event);
    if (hold >= 0) {
      const [held] = this.holds.splice(hold, 1) as [Hold];
      held.arrived({ grantId: parsed?.success ? parsed.data.grant_id : '', callerPort: req.socket.remotePort ?? 0 });
      await held.released;
    }
    if (this.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 10_000));
    if (res.destroyed) return;
    if (!signatureValid) return void res.writeHead(401).end('bad signature');
    if (this.failNext > 0) {
      this.failNext--;
      return void res.writeHead(503).end('busy');
    }
    if (this.mode === 'fail') return void res.writeHead(503).end('down for maintenance');
    if (this.mode === 'garbage') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>it works!</html>');
    if (req.method === 'GET') {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ present: this.present.has(url.searchParams.get('grant_id') ?? '') }));
    }
    const grantId = parsed?.success ? parsed.data.grant_id : '';
    if (event === 'grant') this.present.add(grantId);
    if (event === 'revoke') this.present.delete(grantId);
    res.writeHead(200, { 'content-type': 'application/json' }).end(event === 'grant' && this.message ? JSON.stringify({ message: this.message }) : '{}');
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
