// A webhook receiver on loopback, as a customer would write one: it checks the HMAC signature and keeps who has access.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookPayloadSchema, type WebhookPayload } from '../../src/providers/webhook.ts';

export type ReceiverMode = 'ok' | 'fail' | 'garbage' | 'slow';

export class WebhookReceiver {
  readonly received: { event: string; signatureValid: boolean; contentType: string; payload: WebhookPayload | null; raw: string }[] = [];
  readonly present = new Set<string>();
  mode: ReceiverMode = 'ok';
  /** Answers this many more requests with 503 whatever the mode, as a receiver having a bad moment does. */
  failNext = 0;
  message: string | undefined = 'connect with: ssh bastion.example.com';
  private server: Server | null = null;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}/hook`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private verify(signed: string, header: string | undefined): boolean {
    const expected = Buffer.from(`sha256=${createHmac('sha256', this.secret).update(signed).digest('hex')}`);
    const given = Buffer.from(header ?? '');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const event = String(req.headers['x-sesame-event'] ?? '');
    const signed = req.method === 'GET' ? url.search.slice(1) : raw;
    const signatureValid = this.verify(signed, req.headers['x-sesame-signature'] as string | undefined);
    const parsed = req.method === 'POST' ? webhookPayloadSchema.safeParse(safeJson(raw)) : null;
    this.received.push({ event, signatureValid, contentType: String(req.headers['content-type']), payload: parsed?.success ? parsed.data : null, raw });

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
