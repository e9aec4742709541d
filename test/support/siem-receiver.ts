// A SIEM's HTTP input on loopback, as an operator would put in front of one: it checks Sesame's timestamped
// signature, reads jsonl or Splunk HEC bodies, and keeps (in arrival order) the entries it acknowledged. At /_bulk it
// answers as Elasticsearch's Bulk API does: `create` by `_id`, a 409 for a document already there, per-item statuses.
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
  /** How many entries, from the first, the answer told Sesame are stored (all after a 200, but for _bulk). */
  acknowledged: number;
  /** For _bulk: each item's status in the answer, in request order. */
  itemStatuses: number[];
}

/** One item of a `_bulk` answer, in the shape Elasticsearch gives it. */
interface BulkItem {
  create: { _index: string; _id: string; status: number; result?: 'created'; error?: { type: string; reason: string } };
}

export class SiemReceiver extends LoopbackServer {
  readonly posts: SiemPost[] = [];
  /** What the SIEM indexed, in the order it indexed it (duplicates included). */
  readonly stored: ExportedEntry[] = [];
  /** What /_bulk holds, by `_id`: a create for an `_id` already here is refused with 409, as Elasticsearch does. */
  readonly documents = new Map<string, { index: string; entry: ExportedEntry }>();
  /** While set, /_bulk refuses the create of this entry id with 429 es_rejected_execution_exception (and takes the others). */
  rejectEntry: number | null = null;
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

  /** Where Elasticsearch's Bulk API would be. */
  get bulkUrl(): string {
    return `http://127.0.0.1:${this.port}/_bulk`;
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
    const bulk = req.url === '/_bulk';
    // A _bulk body alternates action and document lines.
    const entries = bulk ? lines.filter((_, i) => i % 2 === 1).map((l) => l as ExportedEntry) : lines.map((l) => (contentType === 'application/json' ? (l as { event: ExportedEntry }).event : (l as ExportedEntry)));
    const post: SiemPost = { signatureValid: this.verify(body, req.headers['x-sesame-signature'] as string | undefined), contentType, authorization: req.headers.authorization, lines, entries, status: null, acknowledged: 0, itemStatuses: [] };
    this.posts.push(post);
    const answer = (status: number, json?: unknown): void => {
      post.status = status;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json ?? (status === 200 ? { text: 'Success', code: 0 } : { text: 'Server is busy', code: 9 })));
    };
    if (!post.signatureValid) return answer(401);
    if (bulk && !body.endsWith('\n')) return answer(400, { error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 });
    if (this.mode === 'hang') return;
    if (this.hold) await this.hold;
    if (this.mode === 'fail') return answer(503);
    if (bulk) {
      const items = this.bulkItems(lines);
      post.itemStatuses = items.map((i) => i.create.status);
      const refused = post.itemStatuses.findIndex((s) => s !== 201 && s !== 409);
      if (this.mode === 'lost_ack') return answer(503);
      post.acknowledged = refused === -1 ? items.length : refused;
      return answer(200, { took: 3, errors: items.some((i) => i.create.error !== undefined), items });
    }
    this.stored.push(...entries);
    if (this.mode === 'lost_ack') return answer(503);
    post.acknowledged = entries.length;
    answer(200);
  }

  /** Each action/document pair applied as Elasticsearch would: every item on its own, a failure not stopping the rest. */
  private bulkItems(lines: readonly unknown[]): BulkItem[] {
    const items: BulkItem[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const { _index, _id } = (lines[i] as { create: { _index: string; _id: string } }).create;
      const entry = lines[i + 1] as ExportedEntry;
      if (entry.id === this.rejectEntry) {
        items.push({ create: { _index, _id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [shard_detail=[sesame-audit][0][P], shard_coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0]' } } });
      } else if (this.documents.has(_id)) {
        items.push({ create: { _index, _id, status: 409, error: { type: 'version_conflict_engine_exception', reason: `[${_id}]: version conflict, document already exists (current version [1])` } } });
      } else {
        this.documents.set(_id, { index: _index, entry });
        this.stored.push(entry);
        items.push({ create: { _index, _id, status: 201, result: 'created' } });
      }
    }
    return items;
  }
}
