// A SIEM's HTTP input on loopback, as an operator would put in front of one: it checks Sesame's timestamped
// signature, reads jsonl or Splunk HEC bodies, and keeps (in arrival order) the entries it acknowledged.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExportedEntry } from '../../src/store/audit.ts';
import { LoopbackServer } from './loopback-server.ts';

const TOLERANCE_SECONDS = 5 * 60;

/**
 * ok: stores and answers 200. fail: answers 503 without storing. lost_ack: stores, then answers 503 (the ack is lost,
 * so Sesame must send the batch again). hang: never answers.
 */
export type SiemMode = 'ok' | 'fail' | 'lost_ack' | 'hang';

export interface SiemPost {
  signatureValid: boolean;
  contentType: string;
  authorization: string | undefined;
  /** The raw lines of the body, parsed. */
  lines: unknown[];
  entries: ExportedEntry[];
  status: number | null;
}

export class SiemReceiver extends LoopbackServer {
  readonly posts: SiemPost[] = [];
  /** What the SIEM indexed, in the order it indexed it (duplicates included). */
  readonly stored: ExportedEntry[] = [];
  mode: SiemMode = 'ok';
  /** While set, answers wait for it: a POST held in flight for as long as the test likes. */
  hold: Promise<void> | null = null;
  private fixedPort = 0;

  constructor(private readonly secret: string) {
    super();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/ingest`;
  }

  /** Listens again on the port it had before `stop()`, as a receiver coming back from an outage does. */
  async restart(): Promise<void> {
    await this.start(this.fixedPort);
  }

  override async start(port = 0): Promise<this> {
    await super.start(port);
    this.fixedPort = this.port;
    return this;
  }

  private verify(body: string, header: string | undefined): boolean {
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
    if (!match) return false;
    if (Math.abs(Date.now() / 1000 - Number(match[1])) > TOLERANCE_SECONDS) return false;
    const expected = createHmac('sha256', this.secret).update(`${match[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const contentType = String(req.headers['content-type']);
    const lines = body
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as unknown);
    const entries = lines.map((l) => (contentType === 'application/json' ? (l as { event: ExportedEntry }).event : (l as ExportedEntry)));
    const post: SiemPost = { signatureValid: this.verify(body, req.headers['x-sesame-signature'] as string | undefined), contentType, authorization: req.headers.authorization, lines, entries, status: null };
    this.posts.push(post);
    const answer = (status: number): void => {
      post.status = status;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"text":"Success","code":0}' : '{"text":"Server is busy","code":9}');
    };
    if (!post.signatureValid) return answer(401);
    if (this.mode === 'hang') return;
    if (this.hold) await this.hold;
    if (this.mode === 'fail') return answer(503);
    this.stored.push(...entries);
    answer(this.mode === 'lost_ack' ? 503 : 200);
  }
}
