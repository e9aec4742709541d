// `sesame migrate --from sqlite:PATH --to postgres://URL` on the real PostgreSQL: a history made by the real core is copied
// whole (ids and hashes intact) and verifies; PgStore writes after it continue the ids; occupied targets, a running
// Sesame and a tampered copy are refused or caught; the SQLite file is never changed.
import { createHash } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { AccessService } from '../../src/core/access-service.ts';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { CopyRefused, copyProblem, copySqliteToPg } from '../../src/store/copy-sqlite-to-pg.ts';
import { COPIED_TABLES } from '../../src/store/copy-tables.ts';
import { lockInstance, openDatabase } from '../../src/store/db.ts';
import { blockedUsers } from '../../src/store/schema.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { closePgDatabase, openPgDatabase, type PgDb } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { PEOPLE } from '../support/access-harness.ts';
import { silentLogger, singleProvider } from '../support/fakes.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { sesame } from '../support/run-cli.ts';
import { sqliteHistory, type SqliteHistory } from '../support/sqlite-history.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';

const fileHash = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('copying SQLite into PostgreSQL', () => {
  let history: SqliteHistory;
  const databases: TempPgDatabase[] = [];
  const pools: PgDb[] = [];
  const fresh = async () => {
    const db = await tempPgDatabase('copy');
    databases.push(db);
    return db;
  };
  const open = async (url: string, migrate = true) => {
    const db = await openPgDatabase(url, { maxConnections: 2, migrate });
    pools.push(db);
    return db;
  };
  const path = () => history.h.temp.path;

  beforeAll(async () => {
    history = await sqliteHistory(40); // over 500 audit entries: more than one batch
  }, 60_000);
  afterAll(async () => {
    await Promise.all(pools.map(closePgDatabase));
    await Promise.all(databases.map((d) => d.drop()));
    await history.h.cleanup();
  });

  it('copies every table SQLite has', () => {
    const names = (history.h.temp.db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '__drizzle_migrations'").all() as { name: string }[]).map((r) => r.name);
    expect(COPIED_TABLES.map((t) => t.name).sort()).toEqual(names.sort());
  });

  it('copies a history made by the core with ids and hashes intact, verifies it, and leaves the SQLite file as it was', async () => {
    const target = await fresh();
    const before = fileHash(path());
    const lines: string[] = [];
    const summary = await copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url, progress: (l) => lines.push(l), progressEvery: 100 });
    expect(fileHash(path())).toBe(before);

    const sqliteChain = verifyAuditChain(history.h.temp.db.$client);
    if (!sqliteChain.ok || sqliteChain.head === null) throw new Error('the SQLite history should verify');
    expect(sqliteChain.entries).toBeGreaterThan(300);
    expect(summary.head).toEqual(sqliteChain.head);
    const pg = await open(target.url);
    const pgChain = await verifyPgAuditChain(pg);
    expect(pgChain).toEqual({ ok: true, entries: sqliteChain.entries, head: sqliteChain.head });
    expect(await copyProblem(history.h.temp.db, pg)).toBeNull();
    expect(lines).toContain(`copied ${sqliteChain.entries} audit entries`);
    // Batches are 500 rows: a line after each batch that passed another 100 rows, before the table's last line.
    expect(lines).toContain(`copied 500 of ${sqliteChain.entries} audit entries`);
    expect(lines.at(-1)).toBe('verifying the copy');
    expect(summary.rows.find((r) => r.table === 'blocked_users')?.rows).toBe(1);
    expect(summary.rows.find((r) => r.table === 'audit_stream_cursor')?.rows).toBe(1);

    // Row for row the same records, whichever store reads them.
    const store = new PgStore(pg, () => 'x');
    for (const id of [...history.grantIds, history.grantIds.length + 40]) expect(await store.getGrant(id)).toEqual(await history.h.store.getGrant(id));
    const reqIds = (history.h.temp.db.$client.prepare('SELECT id FROM requests').all() as { id: number }[]).map((r) => r.id);
    for (const id of reqIds) {
      expect(await store.getRequest(id)).toEqual(await history.h.store.getRequest(id));
      expect(await store.approvalsFor(id)).toEqual(await history.h.store.approvalsFor(id));
    }
    expect(await store.blockOf(PEOPLE.oncall)).toEqual(history.h.temp.db.select().from(blockedUsers).get());
    expect(await store.isBlocked(PEOPLE.oncall)).toBe(true);
  }, 60_000);

  it('lets Sesame carry on on the copy: new requests, grants, approvals and audit entries continue after the copied ids', async () => {
    const target = await fresh();
    await copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url });
    const pg = await open(target.url);
    const h = history.h;
    const store = new PgStore(pg, () => aLoadedPolicy().sha256);
    const service = new AccessService({
      store, policy: () => aLoadedPolicy(), providers: singleProvider(h.provider), scheduler: h.scheduler, notifier: h.notifier,
      directory: h.directory, clock: h.clock, log: silentLogger, retry: { attempts: 3, baseDelayMs: 1 },
    });
    const max = (table: string) => (h.temp.db.$client.prepare(`SELECT max(id) AS n FROM ${table}`).get() as { n: number }).n;
    const granted = await service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: 3_600_000, reason: 'after the move' });
    if (granted.value?.kind !== 'granted') throw new Error(`expected a grant, got ${JSON.stringify(granted)}`);
    expect(granted.value.grant.id).toBe(max('grants') + 1);
    expect(granted.value.request.id).toBe(max('requests') + 1);
    const pending = await service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: 3_600_000, reason: 'after the move' });
    if (pending.value?.kind !== 'pending') throw new Error('expected a pending request');
    await service.approve(pending.value.request.id, PEOPLE.security);
    expect((await store.approvalsFor(pending.value.request.id))[0]?.id).toBe(max('approvals') + 1);
    const chain = await verifyPgAuditChain(pg);
    const copied = verifyAuditChain(h.temp.db.$client);
    if (!chain.ok || !copied.ok) throw new Error('both chains should verify');
    expect(chain.entries).toBeGreaterThan(copied.entries);
  }, 60_000);

  it('refuses a target that already holds data, and leaves it as it was', async () => {
    const target = await fresh();
    await copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url });
    const pg = await open(target.url);
    const count = async () => (await pg.execute<{ n: string }>(sql`SELECT count(*) AS n FROM audit_log`)).rows[0]?.n;
    const before = await count();
    const again = copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url });
    await expect(again).rejects.toThrow(CopyRefused);
    await expect(again).rejects.toThrow(/^The PostgreSQL database at postgres:\/\/127\.0\.0\.1:5432\/sesame_test_copy_\w+ already holds data \(\d+ requests, \d+ grants, \d+ approvals, \d+ audit entries, 1 blocked people, 1 audit stream cursors\); copy only into a new, empty database/);
    expect(await count()).toBe(before);
  }, 60_000);

  it('refuses while a Sesame runs on the SQLite file, writing nothing to the target', async () => {
    const target = await fresh();
    const lock = lockInstance(path());
    try {
      await expect(copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url })).rejects.toThrow(`A Sesame is running on ${path()}; stop it before copying`);
    } finally {
      lock.release();
    }
    const pg = await open(target.url, false);
    expect((await pg.execute<{ t: string | null }>(sql`SELECT to_regclass('audit_log')::text AS t`)).rows[0]?.t).toBeNull();
  });

  it('refuses a SQLite file with a second name (a hard link), and says to copy from a file of its own', async () => {
    const target = await fresh();
    const other = `${path()}-second-name`;
    linkSync(path(), other);
    try {
      await expect(copySqliteToPg({ sqlitePath: other, postgresUrl: target.url })).rejects.toThrow(
        new CopyRefused(`The database file ${other} has more than one name (hard links), so a Sesame running under another name could write to it while it is copied; copy it to a file of its own first (for example with sqlite3's .backup command) and copy from that.`),
      );
    } finally {
      unlinkSync(other);
    }
  });

  it('catches a copy changed afterwards: the chain no longer verifies against SQLite', async () => {
    const target = await fresh();
    await copySqliteToPg({ sqlitePath: path(), postgresUrl: target.url });
    const pg = await open(target.url);
    // Someone with the table owner's rights can switch the append-only triggers off; verification must still notice.
    await pg.$client.query("SET session_replication_role = replica; UPDATE audit_log SET actor = 'U0EVIL' WHERE id = 7; SET session_replication_role = origin");
    expect(await verifyPgAuditChain(pg)).toMatchObject({ ok: false, brokenAt: 7, problem: 'entry 7 was changed after it was written (its hash does not match its contents)' });
    expect(await copyProblem(history.h.temp.db, pg)).toBe('the copied audit log does not verify (entry 7 was changed after it was written (its hash does not match its contents))');
  });

  it('through the command line: copies, says so, and refuses wrong arguments with the usage', async () => {
    const target = await fresh();
    const ok = await sesame(['migrate', '--from', `sqlite:${path()}`, '--to', target.url]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^copying .+ into postgres:\/\/127\.0\.0\.1:5432\/sesame_test_copy_\w+\n/);
    expect(ok.stdout).toMatch(/copied and verified: \d+ requests, \d+ grants, \d+ approvals, \d+ audit_log, 1 blocked_users, 1 audit_stream_cursor; the audit chain verifies and ends at entry \d+ \([0-9a-f]{64}\) on both\./);
    const again = await sesame(['migrate', '--from', `sqlite:${path()}`, '--to', target.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already holds data/);

    const noScheme = await sesame(['migrate', '--from', path(), '--to', target.url]);
    expect(noScheme.code).toBe(2);
    expect(noScheme.stderr).toMatch(/^--from must be sqlite:PATH, the SQLite file to copy \(e\.g\. sqlite:\.\/data\/sesame\.db\), not ".+"\.\n\nusage: sesame migrate\n/);
    const noTarget = await sesame(['migrate', '--from', `sqlite:${path()}`]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toMatch(/\(or DATABASE_URL set\) to copy a database \(--to is missing\)\.\n\nusage: sesame migrate/);
    // Without --to, DATABASE_URL names the target: the password stays off the command line.
    const viaEnv = await fresh();
    const fromEnv = await sesame(['migrate', '--from', `sqlite:${path()}`], { DATABASE_URL: viaEnv.url });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toMatch(/copied and verified: \d+ requests/);
    const mysql = await sesame(['migrate', '--from', `sqlite:${path()}`, '--to', 'mysql://root:hunter2@db/x']);
    expect(mysql.code).toBe(2);
    expect(mysql.stderr).toMatch(/^--to must be a postgres:\/\/ or postgresql:\/\/ URL of an empty database, not "mysql:\/\/db\/x"\./);
    expect(mysql.stderr).not.toContain('hunter2');
  }, 60_000);

  it('refuses a SQLite source that is missing or not migrated', async () => {
    const target = await fresh();
    await expect(copySqliteToPg({ sqlitePath: `${path()}.nothing`, postgresUrl: target.url })).rejects.toThrow(`There is no SQLite database at ${path()}.nothing;`);
    const bare = `${history.h.temp.dir}/bare.db`;
    openDatabase(bare, { migrate: false }).$client.close();
    await expect(copySqliteToPg({ sqlitePath: bare, postgresUrl: target.url })).rejects.toThrow(`${bare} is not a Sesame database`);
  });
});
