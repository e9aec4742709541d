// The audit stream's shipper against a real HTTP receiver: order, batches, signatures, HEC, outages, timeouts, restarts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditStreamer, destinationKey, type AuditStreamer, type AuditStreamTarget } from '../src/audit-stream.ts';
import { AuditStreamCursor } from '../src/store/audit-stream-cursor.ts';
import { auditEntries } from '../src/store/audit.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { silentLogger } from './support/fakes.ts';
import { SiemReceiver } from './support/siem-receiver.ts';
import { expectChainVerifies, expectResentOnlyAfterFailedAcks, firstCopies } from './support/stream-checks.ts';
import { tempDb, type TempDb } from './support/temp-db.ts';

const SECRET = 'siem-stream-secret';
const FAST = { baseMs: 20, maxMs: 100 };

describe('the audit stream shipper', () => {
  let temp: TempDb;
  let store: SqliteStore;
  let receiver: SiemReceiver;
  let streamer: AuditStreamer | null = null;

  beforeEach(async () => {
    temp = tempDb();
    store = new SqliteStore(temp.db, () => 'a'.repeat(64));
    receiver = await new SiemReceiver(SECRET).start();
  });
  afterEach(async () => {
    await streamer?.stop();
    streamer = null;
    await receiver.stop();
    temp.cleanup();
  });

  const write = async (n: number, actor = 'U0WRITER'): Promise<void> => {
    for (let i = 0; i < n; i++) await store.audit(new Date(), { actor, action: 'policy.loaded', details: { n: i, nested: { b: [1, 'x'], a: null } } });
  };
  const target = (changes: Partial<AuditStreamTarget> = {}): AuditStreamTarget => ({ url: receiver.url, secret: SECRET, authorization: undefined, format: 'jsonl', index: undefined, batch: 3, timeoutMs: 5_000, warnLag: 1_000, ...changes });
  const start = (changes: Partial<AuditStreamTarget> = {}, pollMs = 60_000): AuditStreamer => {
    const fixed = target(changes); // read now: the receiver has no port while it is down
    streamer = createAuditStreamer({ cursor: new AuditStreamCursor(temp.db.$client), onAppend: (l) => store.auditLog.onAppend(l), target: () => fixed, log: silentLogger, backoff: FAST, pollMs });
    streamer.start();
    return streamer;
  };
  const inDatabase = () => [...auditEntries(temp.db.$client)];
  const until = async <T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const allStored = (what = 'every entry at the receiver', timeoutMs = 10_000) => until(() => firstCopies(receiver.stored).length === inDatabase().length, what, timeoutMs);

  it('sends every entry in chain order, signed, in batches, woken by new entries; each copy verifies against the chain', async () => {
    await write(7);
    start(); // polls only every minute: what arrives sooner came from a wake-up
    await allStored('the first 7');
    expect(receiver.posts.map((p) => p.entries.length)).toEqual([3, 3, 1]);
    await write(2);
    await allStored('the 2 written after start');
    expect(receiver.posts.every((p) => p.signatureValid && p.contentType === 'application/x-ndjson' && p.authorization === undefined)).toBe(true);
    expect(receiver.stored).toEqual(inDatabase()); // exactly once, in order, every field as `audit export` writes it
    expectChainVerifies(receiver.stored);
    await until(async () => (await streamer?.lag()) === 0, 'the cursor at the head'); // moved once the last 200 is read
    // Keyed by a digest of the URL: a token in its query string is not kept in the database.
    expect(temp.db.$client.prepare('SELECT destination, last_id FROM audit_stream_cursor').all()).toEqual([{ destination: destinationKey(receiver.url), last_id: 9 }]);
  });

  it('sends an entry written while a POST is in flight right after it, not at the next poll', async () => {
    await write(1);
    let release = (): void => undefined;
    receiver.hold = new Promise((resolve) => (release = resolve));
    start(); // polls only every minute
    await until(() => receiver.posts.length === 1, 'the first POST, held');
    await write(1);
    receiver.hold = null;
    release();
    await allStored('the entry written during the POST', 5_000);
    expect(receiver.posts.map((p) => p.entries.map((e) => e.id))).toEqual([[1], [2]]);
  });

  it('at shutdown lets a POST in flight finish and records its acknowledgement, then stops at once', async () => {
    await write(2);
    let release = (): void => undefined;
    receiver.hold = new Promise((resolve) => (release = resolve));
    const s = start(); // polls only every minute: a stop that waited for the poll would take that long
    await until(() => receiver.posts.length === 1, 'the POST, held');
    const stopping = Date.now();
    const stopped = s.stop();
    setTimeout(release, 200);
    await stopped;
    expect(Date.now() - stopping).toBeLessThan(1_000);
    expect(new AuditStreamCursor(temp.db.$client).position(destinationKey(receiver.url))?.id).toBe(2); // not sent again at the next start
  });

  it('splunk_hec: one HEC event object per entry (time, host, source, sourcetype, event) with the Authorization header', async () => {
    await write(2);
    start({ format: 'splunk_hec', authorization: 'Splunk 11111111-2222-3333-4444-555555555555' });
    await allStored();
    const [post] = receiver.posts;
    expect(post?.contentType).toBe('application/json');
    expect(post?.authorization).toBe('Splunk 11111111-2222-3333-4444-555555555555');
    const [first] = inDatabase();
    expect(post?.lines[0]).toEqual({ time: Date.parse(first?.at ?? '') / 1000, host: expect.any(String), source: 'sesame', sourcetype: 'sesame:audit', event: first });
    expectChainVerifies(receiver.stored);
  });

  it('through 503s, lost acks and a receiver that is down, delivers everything in order, resending only unacknowledged batches', async () => {
    await write(4);
    receiver.mode = 'fail';
    const s = start({ warnLag: 3 });
    await until(() => receiver.posts.length >= 2, 'retries of a 503');
    expect(await s.lag()).toBe(4);
    expect(await s.warning()).toMatch(/^the audit stream to 127\.0\.0\.1:\d+ is 4 entries behind \(last failure: 127\.0\.0\.1:\d+ answered 503\); Sesame keeps working/);
    receiver.mode = 'lost_ack'; // the SIEM keeps the batch but Sesame never hears so
    await until(() => receiver.posts.filter((p) => p.status === 503 && p.entries.length > 0).length >= 4, 'lost acks');
    await receiver.stop(); // down: connections refused
    await write(3);
    await until(async () => (await s.warning())?.includes('could not reach 127.0.0.1'), 'a refused connection');
    expect(await s.warning()).toMatch(/is 7 entries behind \(last failure: could not reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\)/);
    expect(await s.lag()).toBe(7);
    receiver.mode = 'ok';
    await receiver.restart();
    await allStored();
    await until(async () => (await s.lag()) === 0, 'the cursor at the head');
    expect(await s.warning()).toBeNull();
    expect(firstCopies(receiver.stored)).toEqual(inDatabase());
    expectResentOnlyAfterFailedAcks(receiver);
    expect(receiver.stored.length).toBeGreaterThan(inDatabase().length); // the lost acks did cause duplicates
    expectChainVerifies(firstCopies(receiver.stored));
  });

  it('a new shipper on the same database resumes from the cursor: nothing skipped, nothing acknowledged sent again', async () => {
    await write(5);
    start();
    await allStored();
    await until(async () => (await streamer?.lag()) === 0, 'the last batch acknowledged'); // else it is rightly sent again
    await streamer?.stop();
    const before = receiver.posts.length;
    await write(4);
    start();
    await allStored('the entries written while stopped');
    expect(receiver.posts.slice(before).flatMap((p) => p.entries.map((e) => e.id))).toEqual([6, 7, 8, 9]);
    expect(receiver.stored).toEqual(inDatabase());
  });

  it('says so when an entry it already delivered was changed in the database, and still sends what follows', async () => {
    const errors: string[] = [];
    await write(3);
    const fixed = target();
    streamer = createAuditStreamer({ cursor: new AuditStreamCursor(temp.db.$client), onAppend: (l) => store.auditLog.onAppend(l), target: () => fixed, log: { ...silentLogger, error: (_fields, message) => errors.push(message) }, backoff: FAST, pollMs: 60_000 });
    streamer.start();
    await allStored('the first 3');
    await until(async () => (await streamer?.lag()) === 0, 'the cursor at the head');
    // Someone with the database file rewrites entry 3 (the triggers are theirs to drop).
    temp.db.$client.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET hash = '" + 'f'.repeat(64) + "' WHERE id = 3");
    await write(1);
    await allStored('entry 4');
    expect(errors).toEqual(['the audit log no longer continues from the last entry the audit stream delivered: it was changed after it was sent; run sesame audit verify and compare with the SIEM copy']);
    expect(() => expectChainVerifies(receiver.stored)).toThrow(/entry 4 links to the one before/);
  });

  it('never moves the cursor backwards, so a late acknowledgement cannot make it resend or skip', async () => {
    const cursor = new AuditStreamCursor(temp.db.$client);
    await cursor.advance('https://siem.example/in', { id: 9, hash: 'h9' }, 1);
    await cursor.advance('https://siem.example/in', { id: 4, hash: 'h4' }, 2);
    expect(cursor.position('https://siem.example/in')).toEqual({ id: 9, hash: 'h9' });
    expect(cursor.position('https://other.example/in')).toBeNull(); // a new destination starts from entry 1
  });

  it('gives up on a receiver that does not answer within the timeout, and stop() abandons a POST in flight after a short grace', async () => {
    await write(2);
    receiver.mode = 'hang';
    const s = start({ timeoutMs: 200, warnLag: 1 });
    await until(() => receiver.posts.length >= 2, 'a retry after the timeout');
    expect(await s.lag()).toBe(2);
    expect(await s.warning()).toMatch(/is 2 entries behind \(last failure: 127\.0\.0\.1:\d+ did not answer within 200 ms\)/);
    expect(receiver.posts.every((p) => p.status === null)).toBe(true);
    const stopping = Date.now();
    await s.stop();
    expect(Date.now() - stopping).toBeLessThan(3_000); // the 1 s grace, not the 200 ms timeout's retries forever
    expect(new AuditStreamCursor(temp.db.$client).position(destinationKey(receiver.url))).toBeNull();
  });
});
