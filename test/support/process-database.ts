// The database a `sesame` child process runs on in a process-level test: a SQLite file, or in the PostgreSQL pass a database of the test file's.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { lendPgDatabase } from './pg-reused-db.ts';
import { onPostgres, pgSql, sqliteSql, type TestSql } from './store-factories.ts';

export interface ProcessDatabase {
  kind: 'sqlite' | 'postgres';
  /** What the child's environment (and `sesame audit verify`'s) needs to open it: DATABASE_PATH or DATABASE_URL. */
  env: { DATABASE_PATH: string } | { DATABASE_URL: string };
  /** Raw SQL on it from the test, through a connection of the test's own (opened on first use: the child creates it). */
  sql: TestSql;
  close(): Promise<void>;
}

/** SQLite at `dir`/sesame.db, or an emptied PostgreSQL database in the PostgreSQL pass. */
export async function processDatabase(dir: string): Promise<ProcessDatabase> {
  if (onPostgres) {
    const lent = await lendPgDatabase();
    const pool = new pg.Pool({ connectionString: lent.url, max: 2 });
    return {
      kind: 'postgres',
      env: { DATABASE_URL: lent.url },
      sql: pgSql(pool),
      close: async () => {
        await pool.end();
        await lent.release();
      },
    };
  }
  const path = join(dir, 'sesame.db');
  let client: Database.Database | undefined;
  const opened = () => (client ??= new Database(path));
  const lazy: TestSql = {
    all: (text, ...params) => sqliteSql(opened()).all(text, ...params),
    get: (text, ...params) => sqliteSql(opened()).get(text, ...params),
    run: (text, ...params) => sqliteSql(opened()).run(text, ...params),
  };
  return {
    kind: 'sqlite',
    env: { DATABASE_PATH: path },
    sql: lazy,
    close: async () => {
      client?.close();
    },
  };
}
