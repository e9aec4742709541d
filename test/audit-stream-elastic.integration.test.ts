// The audit stream's elastic_bulk format against a receiver that answers as Elasticsearch's Bulk API: create by hash,
// 409 for a resend, per-item failures that hold the cursor just before them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStreamer, destinationKey, type AuditStreamer, type AuditStreamTarget } from '../src/audit-stream.ts';
import { AuditStreamCursor } from '../src/store/audit-stream-cursor.ts';
import { auditEntries } from '../src/store/audit.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { silentLogger } from './support/fakes.ts';
import { SiemReceiver } from './support/siem-receiver.ts';
import { expectChainVerifies, expectResentOnlyAfterFailedAcks } from './support/stream-checks.ts';
import { tempDb, type TempDb } from './support/temp-db.ts';

const SECRET = 'siem-stream-secret';
const FAST = { baseMs: 20, maxMs: 100 };

describe('the audit stream in elastic_bulk format', () => {
  let temp: TempDb;
  let store: SqliteStore;
  let receiver: SiemReceiver;
  let streamer: AuditStreamer | null = null;
  let warnings: { problem: unknown; message: string }[];

  beforeEach(async () => {
    temp = tempDb();
    store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    receiver = await new SiemReceiver(SECRET).start();
    warnings = [];
  });
  afterEach(async () => {
    await streamer?.stop();
    streamer = null;
    await receiver.stop();
    temp.cleanup();
  });

  const write = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await store.audit(new Date(), { actor: 'U0WRITER', action: 'policy.loaded', details: { n: i, nested: { b: [1, 'x'], a: null } } });
  };
  const start = (changes: Partial<AuditStreamTarget> = {}): AuditStreamer => {
    const fixed: AuditStreamTarget = { url: receiver.bulkUrl, secret: SECRET, authorization: 'ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==', format: 'elastic_bulk', index: 'sesame-audit', batch: 3, timeoutMs: 5_000, warnLag: 1, ...changes };
    const log = { ...silentLogger, warn: (fields: object, message: string) => warnings.push({ problem: (fields as { problem?: unknown }).problem, message }) };
    streamer = createAuditStreamer({ cursor: new AuditStreamCursor(temp.db.$client), onAppend: (l) => store.auditLog.onAppend(l), target: () => fixed, log, backoff: FAST, pollMs: 60_000 });
    streamer.start();
    return streamer;
  };
  const inDatabase = () => [...auditEntries(temp.db.$client)];
  const delivered = () => new AuditStreamCursor(temp.db.$client).position(destinationKey(receiver.bulkUrl))?.id ?? 0;
  const until = async <T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** Every entry in the index once, by its hash, and the cursor at the head. */
  const allIndexed = async (what: string): Promise<void> => {
    await until(async () => receiver.documents.size === inDatabase().length && (await streamer?.lag()) === 0, what);
  };

  it('sends a create action keyed by the entry hash before each entry, newline-terminated, with the API key; every entry arrives in order', async () => {
    await write(7);
    const s = start();
    await allIndexed('the 7 entries indexed');
    const entries = inDatabase();
    // The receiver answers 400 to a body whose last line lacks its newline, as the Bulk API does.
    expect(receiver.posts.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(receiver.posts.every((p) => p.signatureValid && p.contentType === 'application/x-ndjson' && p.authorization === 'ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==')).toBe(true);
    expect(receiver.posts.flatMap((p) => p.lines)).toEqual(entries.flatMap((e) => [{ create: { _index: 'sesame-audit', _id: e.hash } }, e]));
    expect(receiver.posts.flatMap((p) => p.itemStatuses)).toEqual(entries.map(() => 201));
    expect(receiver.stored).toEqual(entries); // every field as `audit export` writes it, in chain order
    expect([...receiver.documents].map(([id, doc]) => [id, doc.index, doc.entry.id])).toEqual(entries.map((e) => [e.hash, 'sesame-audit', e.id]));
    expectChainVerifies(receiver.stored);
    expect(await s.warning()).toBeNull();
  });

  it('after a lost answer sends the batch again, gets 409s for what the index already holds, and the index keeps one copy of each', async () => {
    await write(5);
    receiver.mode = 'lost_ack'; // Elasticsearch created the documents, Sesame never heard so
    start();
    await until(() => receiver.posts.filter((p) => p.status === 503).length >= 3, 'batches stored but not acknowledged');
    expect(delivered()).toBe(0);
    receiver.mode = 'ok';
    await write(2);
    await allIndexed('everything acknowledged');
    const resend = receiver.posts.find((p) => p.status === 200);
    expect(resend?.entries.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(resend?.itemStatuses).toEqual([409, 409, 409]);
    expect(receiver.stored).toEqual(inDatabase()); // exactly once, although batches were sent several times
    expect(receiver.documents.size).toBe(7);
    expectResentOnlyAfterFailedAcks(receiver);
    expectChainVerifies(receiver.stored);
  });

  it('a refused item in the middle holds the cursor at the entry before it, says why, and is delivered once the cluster takes it', async () => {
    await write(7);
    receiver.rejectEntry = 5;
    const s = start();
    await until(() => warnings.length >= 3, 'entry 5 refused several times');
    expect(delivered()).toBe(4); // the 200 said entries 4 and 6 were created too, but 5 was not: 6 is not past the cursor
    expect(await s.lag()).toBe(3);
    const refused = receiver.posts.filter((p) => p.itemStatuses.includes(429));
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0]?.entries.map((e) => e.id)).toEqual([4, 5, 6]);
    expect(refused[0]?.itemStatuses).toEqual([201, 429, 201]);
    expect(refused.slice(1).every((p) => p.entries[0]?.id === 5 && p.itemStatuses[0] === 429)).toBe(true); // sent again from the refused entry
    // One line per attempt, naming the first refused item and Elasticsearch's reason.
    const problem = /^127\.0\.0\.1:\d+ refused entry 5 with 429: es_rejected_execution_exception \(rejected execution of coordinating operation/;
    expect(warnings.every((w) => problem.test(String(w.problem)) && w.message.startsWith('could not deliver audit entries to audit_stream'))).toBe(true);
    expect(await s.warning()).toMatch(/is 3 entries behind \(last failure: 127\.0\.0\.1:\d+ refused entry 5 with 429: es_rejected_execution_exception/);

    receiver.rejectEntry = null;
    await allIndexed('entry 5 and the rest');
    const recovered = receiver.posts.find((p) => p.itemStatuses[0] === 201 && p.entries[0]?.id === 5);
    expect(recovered?.itemStatuses).toEqual([201, 409, 409]); // 6 and 7 were created while 5 was refused
    expect([...receiver.documents.values()].map((d) => d.entry.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(receiver.stored.map((e) => e.id)).toEqual([1, 2, 3, 4, 6, 7, 5]); // each once; the chain order is in the ids and hashes
    expectResentOnlyAfterFailedAcks(receiver);
    expect(await s.warning()).toBeNull();
  });

  it('does not move the cursor on a 200 that is not a _bulk answer (url not ending in /_bulk), and says what to check', async () => {
    await write(2);
    const s = start({ url: receiver.url }); // a jsonl input: it answers {"text":"Success"}
    await until(() => receiver.posts.length >= 2, 'a retry');
    expect(receiver.posts.every((p) => p.status === 200)).toBe(true);
    expect(new AuditStreamCursor(temp.db.$client).position(destinationKey(receiver.url))).toBeNull();
    expect(await s.warning()).toMatch(/is 2 entries behind \(last failure: 127\.0\.0\.1:\d+ did not answer with a _bulk response .*check that url ends in \/_bulk\)/);
  });
});
