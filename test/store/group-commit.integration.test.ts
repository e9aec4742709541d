// SQLite's group commit: transactions of one turn share a COMMIT, each resolves only once committed, and a failure
// undoes only its own writes (or, when the batch cannot commit, fails every transaction in it and leaves nothing).
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { AuditStreamCursor } from '../../src/store/audit-stream-cursor.ts';
import { groupCommitOf } from '../../src/store/group-commit.ts';
import { openStore } from '../../src/store/open-store.ts';
import { LOST_RACE, SqliteStore } from '../../src/store/repositories.ts';
import { silentLogger } from '../support/fakes.ts';
import { onPostgres } from '../support/store-factories.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';

const SHA = 'c'.repeat(64);
const at = (second: number) => new Date(Date.UTC(2026, 11, 4, 9) + second * 1000);

/** Counts the COMMITs run on `client` from now on (statements are prepared once and reused, so the count is per run). */
function countCommits(client: Database.Database): () => number {
  let commits = 0;
  const prepare = client.prepare.bind(client);
  client.prepare = ((source: string) => {
    const statement = prepare(source);
    if (source === 'COMMIT') {
      const run = statement.run.bind(statement);
      statement.run = (...params: unknown[]) => (commits++, run(...params));
    }
    return statement;
  }) as Database.Database['prepare'];
  return () => commits;
}

describe.skipIf(onPostgres)('group commit', () => {
  let temp: TempDb;
  let commits: () => number;
  let store: SqliteStore;
  /** A second connection, as `audit verify` or another reader has: it sees only what is committed. */
  let reader: Database.Database;
  const committedEntries = () => (reader.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;

  beforeEach(() => {
    temp = tempDb();
    commits = countCommits(temp.db.$client);
    store = new SqliteStore(temp.db, () => SHA);
    reader = new Database(temp.path, { readonly: true });
  });
  afterEach(() => {
    reader.close();
    temp.cleanup();
  });

  it('commits the transactions started in one turn together, and resolves each only once its writes are committed', async () => {
    const seenOnResolve: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        await store.transaction(at(i), (tx) => tx.audit({ actor: `U${i}`, action: 'request.created' }));
        seenOnResolve.push(committedEntries());
      }),
    );
    expect(commits()).toBe(1);
    expect(seenOnResolve).toEqual([4, 4, 4, 4]);
    // The next turn's transaction is a batch of its own.
    await store.transaction(at(5), (tx) => tx.audit({ actor: 'U5', action: 'request.created' }));
    expect([commits(), committedEntries()]).toEqual([2, 5]);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 5 });
  });

  it('undoes only the writes of a transaction that throws or aborts; the others in its batch commit, and the chain stays whole', async () => {
    const outcomes = await Promise.allSettled([
      store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' })),
      store.transaction(at(2), async (tx) => {
        await tx.audit({ actor: 'U2', action: 'request.created' });
        throw new Error('the provider config is gone');
      }),
      store.transaction(at(3), async (tx) => (await tx.audit({ actor: 'U3', action: 'request.created' }), tx.abort())),
      store.transaction(at(4), (tx) => tx.audit({ actor: 'U4', action: 'request.created' })),
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? (o.value === LOST_RACE ? 'lost race' : 'committed') : (o.reason as Error).message))).toEqual(['committed', 'the provider config is gone', 'lost race', 'committed']);
    expect(commits()).toBe(1);
    await store.audit(at(5), { actor: 'U5', action: 'policy.loaded' });
    expect(reader.prepare('SELECT actor FROM audit_log ORDER BY id').pluck().all()).toEqual(['U1', 'U4', 'U5']);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 3 });
  });

  it('fails every transaction of a batch that cannot commit, leaves none of its writes, and tells no append listener', async () => {
    // A constraint checked only at COMMIT (Sesame's schema has none) makes the batch's commit fail, as a full disk would.
    temp.db.$client.exec('CREATE TABLE deferred_check (request_id INTEGER REFERENCES requests(id) DEFERRABLE INITIALLY DEFERRED)');
    const appended: number[] = [];
    store.auditLog.onAppend(() => appended.push(committedEntries()));
    const outcomes = await Promise.allSettled([
      store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' })),
      store.transaction(at(2), async (tx) => {
        await tx.audit({ actor: 'U2', action: 'request.created' });
        temp.db.$client.prepare('INSERT INTO deferred_check (request_id) VALUES (999)').run();
      }),
      // A lost race decided on the batch's writes is not reported as one when those writes are gone: the caller must retry.
      store.transaction(at(3), (tx) => tx.abort()),
    ]);
    expect(outcomes.map((o) => o.status === 'rejected' && String(o.reason))).toEqual([expect.stringMatching(/FOREIGN KEY/), expect.stringMatching(/FOREIGN KEY/), expect.stringMatching(/FOREIGN KEY/)]);
    expect([committedEntries(), appended]).toEqual([0, []]);
    expect(temp.db.$client.inTransaction).toBe(false);
    // The log's remembered head went with the batch: the next entry is the first again, and the chain verifies.
    await store.transaction(at(3), (tx) => tx.audit({ actor: 'U3', action: 'request.created' }));
    expect([committedEntries(), appended]).toEqual([1, [1]]);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 1 });
  });

  // What SQLite does by itself when a statement on the connection (even a read outside every transaction) fails with
  // a full disk, an I/O error or no memory: it rolls the open transaction back. Simulated here with a ROLLBACK.
  const sqliteRollsBackOnItsOwn = () => temp.db.$client.exec('ROLLBACK');

  it('fails the transactions of a batch SQLite rolled back by itself, and starts the next from the committed chain head', async () => {
    await store.transaction(at(0), (tx) => tx.audit({ actor: 'U0', action: 'request.created' }));
    const lost = store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' }));
    await new Promise((resolve) => process.nextTick(resolve)); // its body is done; its batch is open, not committed
    expect(temp.db.$client.inTransaction).toBe(true);
    sqliteRollsBackOnItsOwn();
    const next = store.transaction(at(2), (tx) => tx.audit({ actor: 'U2', action: 'request.created' }));
    const outcomes = await Promise.allSettled([lost, next]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'committed'))).toEqual([expect.stringMatching(/rolled back the open transactions/), 'committed']);
    // Before, the next one's savepoint committed on its own, linked to the entry rolled back: a fork verify rejects.
    expect(reader.prepare('SELECT actor FROM audit_log ORDER BY id').pluck().all()).toEqual(['U0', 'U2']);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 2 });
  });

  it('refuses the writes of a transaction that SQLite rolled back while its body awaited, so none commits alone', async () => {
    let resume = () => undefined as void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let reached = () => undefined as void;
    const waiting = new Promise<void>((resolve) => (reached = resolve));
    const writing = store.transaction(at(1), async (tx) => {
      await tx.audit({ actor: 'U1', action: 'request.created' });
      reached();
      await paused;
      await tx.insertRequest({ requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'low', durationMs: 60_000, reason: 'r', tickets: [], state: 'approved', steps: [], rule: 'tiers.low: auto', createdAt: at(1).getTime() });
    });
    await waiting;
    sqliteRollsBackOnItsOwn();
    resume();
    await expect(writing).rejects.toThrow(/rolled back by SQLite before this write/);
    expect(reader.prepare('SELECT count(*) FROM requests').pluck().get()).toBe(0);
    expect(committedEntries()).toBe(0);
    await store.transaction(at(2), (tx) => tx.audit({ actor: 'U2', action: 'request.created' }));
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 1 });
  });

  it('gives the chain head and the audit stream only committed entries, committing an open batch first', async () => {
    const cursor = new AuditStreamCursor(temp.db.$client);
    let resume = () => undefined as void;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    const writing = store.transaction(at(1), async (tx) => {
      await tx.audit({ actor: 'U1', action: 'request.created' });
      await paused; // the transaction is still running: its entry is written on this connection, not committed
    });
    const seenWithHead: number[] = [];
    const head = store.auditLog.chainHead().then((h) => (seenWithHead.push(committedEntries()), h));
    const entries = cursor.entriesAfter(0, 10);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([seenWithHead, committedEntries()]).toEqual([[], 0]);
    resume();
    expect(await head).toMatchObject({ id: 1 });
    expect(seenWithHead).toEqual([1]);
    expect((await entries).map((e) => e.actor)).toEqual(['U1']);
    await writing;
  });

  it('commits what is open when flushed, without waiting for the turn to end', async () => {
    const writing = store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' }));
    await new Promise((resolve) => process.nextTick(resolve)); // its body is done; its batch is open, not committed
    await store.flush();
    expect([temp.db.$client.inTransaction, committedEntries()]).toEqual([false, 1]);
    await writing;
  });

  it('settles every transaction of a batch even when an append listener throws, and still tells the others', async () => {
    const told: string[] = [];
    store.auditLog.onAppend(() => {
      throw new Error('a listener that fails');
    });
    store.auditLog.onAppend(() => void told.push('woken'));
    const outcomes = await Promise.allSettled([1, 2].map((i) => store.transaction(at(i), (tx) => tx.audit({ actor: `U${i}`, action: 'request.created' }))));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
    expect([told, committedEntries()]).toEqual([['woken'], 2]);
  });

  it('refuses an append from outside every transaction body while a batch is open', async () => {
    const writing = store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' }));
    await new Promise((resolve) => process.nextTick(resolve));
    expect(groupCommitOf(temp.db.$client).batchOpen).toBe(true);
    expect(() => store.auditLog.append({ actor: 'U2', action: 'policy.loaded' }, SHA, at(2))).toThrow(/inside the transaction/);
    await writing;
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 1 });
  });

  it('refuses a write through a transaction whose body has ended, so it cannot land in the one holding the connection', async () => {
    let stale: Parameters<Parameters<SqliteStore['transaction']>[1]>[0] | undefined;
    await store.transaction(at(1), async (tx) => {
      stale = tx;
      await tx.audit({ actor: 'U1', action: 'request.created' });
    });
    let lateWrite: Promise<unknown> | undefined;
    await store.transaction(at(2), async (tx) => {
      await tx.audit({ actor: 'U2', action: 'request.created' });
      lateWrite = stale?.audit({ actor: 'U1-late', action: 'grant.activated' });
      await lateWrite?.catch(() => undefined);
    });
    await expect(lateWrite).rejects.toThrow(/body had already ended/);
    expect(reader.prepare('SELECT actor FROM audit_log ORDER BY id').pluck().all()).toEqual(['U1', 'U2']);
    expect(verifyAuditChain(temp.db.$client)).toMatchObject({ ok: true, entries: 2 });
  });
});

describe.skipIf(onPostgres)('closing the SQLite store', () => {
  it('commits the transactions still open before the connection closes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-close-'));
    try {
      const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-close', SLACK_SIGNING_SECRET: 'close-secret', DATABASE_PATH: join(dir, 'sesame.db'), POLICY_PATH: join(dir, 'policy.yaml') });
      if (!config.ok) throw new Error(config.error.join());
      const opened = await openStore(config.value, () => SHA, silentLogger);
      const writing = opened.store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' }));
      await new Promise((resolve) => process.nextTick(resolve)); // its batch is open when shutdown closes the store
      await opened.close();
      await writing;
      const reopened = new Database(join(dir, 'sesame.db'), { readonly: true });
      expect(reopened.prepare('SELECT actor FROM audit_log').pluck().all()).toEqual(['U1']);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells the open batch it was not recorded, and warns, when a body that never ends holds the connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-close-stuck-'));
    const warnings: string[] = [];
    try {
      const config = loadConfig({ SLACK_BOT_TOKEN: 'xoxb-close', SLACK_SIGNING_SECRET: 'close-secret', DATABASE_PATH: join(dir, 'sesame.db'), POLICY_PATH: join(dir, 'policy.yaml') });
      if (!config.ok) throw new Error(config.error.join());
      const opened = await openStore(config.value, () => SHA, { ...silentLogger, warn: (_fields, message) => warnings.push(String(message)) });
      const finished = opened.store.transaction(at(1), (tx) => tx.audit({ actor: 'U1', action: 'request.created' }));
      finished.catch(() => undefined); // it rejects inside close(), before the expectation below reads it
      void opened.store.transaction(at(2), async (tx) => {
        await tx.audit({ actor: 'U2', action: 'request.created' });
        await new Promise(() => undefined); // a body stuck on something outside the database
      });
      await new Promise((resolve) => setImmediate(resolve)); // both are in the open batch, the second holding the connection
      await opened.close();
      await expect(finished).rejects.toThrow(/stopped while a transaction was still running/);
      expect(warnings).toEqual([expect.stringContaining('still running at shutdown')]);
      const reopened = new Database(join(dir, 'sesame.db'), { readonly: true });
      expect(reopened.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(0);
      reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
