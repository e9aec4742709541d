// Opening PostgreSQL from a postgres:// URL: migrations applied once (also by replicas starting together), the audit
// log append-only in the database itself, and a wrong or unreachable URL told in one sentence without its password.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedPgMigrationCount, closePgDatabase, openPgDatabase, PG_MIGRATIONS_FOLDER, PgDatabaseError, type PgDb } from '../../src/store/pg/db.ts';
import { tempPgDatabase, type TempPgDatabase } from '../support/pg-temp-db.ts';

const MIGRATIONS = (JSON.parse(readFileSync(join(PG_MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the open to fail');
}

describe('openPgDatabase', () => {
  let temp: TempPgDatabase;
  beforeAll(async () => {
    temp = await tempPgDatabase('pg_db');
  });
  afterAll(() => temp.drop());

  it('migrates once when several replicas start at the same moment, and not again on the next start', async () => {
    expect(MIGRATIONS).toBeGreaterThanOrEqual(2);
    const replicas = await Promise.all(Array.from({ length: 4 }, () => openPgDatabase(temp.url, { maxConnections: 2 })));
    try {
      for (const db of replicas) expect(await appliedPgMigrationCount(db)).toBe(MIGRATIONS);
      const tables = await replicas[0]!.$client.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
      expect(tables.rows.map((r) => r.table_name)).toEqual(['approvals', 'audit_log', 'audit_stream_cursor', 'blocked_users', 'grants', 'requests']);
    } finally {
      await Promise.all(replicas.map(closePgDatabase));
    }
    const again = await openPgDatabase(temp.url);
    try {
      expect(await appliedPgMigrationCount(again)).toBe(MIGRATIONS);
    } finally {
      await closePgDatabase(again);
    }
  });

  it('leaves a database alone when told not to migrate', async () => {
    const empty = await tempPgDatabase('pg_db_nomigrate');
    try {
      const db = await openPgDatabase(empty.url, { migrate: false });
      expect(await appliedPgMigrationCount(db)).toBe(0);
      await closePgDatabase(db);
    } finally {
      await empty.drop();
    }
  });

  describe('the audit log', () => {
    let db: PgDb;
    beforeAll(async () => {
      db = await openPgDatabase(temp.url);
      await db.$client.query("INSERT INTO audit_log (id, at, actor, action, policy_sha256, prev_hash, hash) VALUES (1, '2026-01-01T00:00:00.000Z', 'U1', 'policy.loaded', 'p', 'g', 'h')");
    });
    afterAll(() => closePgDatabase(db));

    it.each<[string, unknown[], string]>([
      ['UPDATE audit_log SET actor = $1', ['U2'], 'audit_log is append-only: entries cannot be updated'],
      ['DELETE FROM audit_log WHERE id = $1', [1], 'audit_log is append-only: entries cannot be deleted'],
      ['TRUNCATE audit_log', [], 'audit_log is append-only: it cannot be truncated'],
    ])('refuses %s', async (statement, params, message) => {
      expect((await failure(db.$client.query(statement, params))).message).toBe(message);
      expect((await db.$client.query('SELECT count(*)::int AS n FROM audit_log')).rows).toEqual([{ n: 1 }]);
    });
  });

  it('says in one sentence that an unreachable server cannot be reached, without the password', async () => {
    const url = `postgres://sesame:hunter2-secret@127.0.0.1:${await closedPort()}/sesame`;
    const error = await failure(openPgDatabase(url, { connectTimeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(PgDatabaseError);
    expect(error.message).toMatch(/^Cannot reach PostgreSQL at postgres:\/\/127\.0\.0\.1:\d+\/sesame \(.*ECONNREFUSED.*\); check DATABASE_URL's host and port, and that the server is running and accepts connections\.$/);
    expect(error.message).not.toContain('hunter2');
  });

  it('names a database that does not exist', async () => {
    const error = await failure(openPgDatabase(`postgres://postgres:pw-secret@127.0.0.1:5432/${temp.name}_missing`));
    expect(error.message).toBe(`The database named in DATABASE_URL (postgres://127.0.0.1:5432/${temp.name}_missing) does not exist (database "${temp.name}_missing" does not exist); create it, or correct the name.`);
  });

  it('refuses a URL of another scheme, or one that does not parse, before connecting', async () => {
    expect((await failure(openPgDatabase('mysql://root:pw-secret@db/sesame'))).message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL (it is mysql://db/sesame); for SQLite set DATABASE_PATH instead.');
    const bad = await failure(openPgDatabase('postgres://user:p@ss@[bad/sesame'));
    expect(bad.message).toMatch(/^DATABASE_URL is not a valid URL \(.*\); write it as postgres:\/\/user:password@host:5432\/database, percent-encoding special characters in the password\.$/);
    expect(bad.message).not.toContain('p@ss');
  });
});
