// Temporary PostgreSQL databases for store tests: emptied and reused within one test file (CREATE DATABASE costs most of a second), dropped when the file ends.
import pg from 'pg';
import { tempPgDatabase, type TempPgDatabase } from './pg-temp-db.ts';

const idle: TempPgDatabase[] = [];
const made: TempPgDatabase[] = [];

export interface LentPgDatabase {
  url: string;
  /** True for a database just created, still to be migrated. */
  fresh: boolean;
  /** Empties the database for the next test of this file (or drops it, if it cannot be emptied); no connection may be left open. */
  release(): Promise<void>;
}

/** Empties every table, the append-only audit log included (its triggers do not fire for a replica-role session), and restarts ids. */
async function empty(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ tables: string | null }>("SELECT string_agg(format('%I', tablename), ', ') AS tables FROM pg_tables WHERE schemaname = 'public'");
    await client.query('SET session_replication_role = replica');
    if (rows[0]?.tables) await client.query(`TRUNCATE ${rows[0].tables} RESTART IDENTITY CASCADE`);
  } finally {
    await client.end();
  }
}

/** A database of this test file's own: an emptied one from an earlier test, or a new one. */
export async function lendPgDatabase(): Promise<LentPgDatabase> {
  const reused = idle.pop();
  const temp = reused ?? (await tempPgDatabase('store'));
  if (!reused) made.push(temp);
  return {
    url: temp.url,
    fresh: !reused,
    release: async () => {
      try {
        await empty(temp.url);
        idle.push(temp);
      } catch {
        made.splice(made.indexOf(temp), 1);
        await temp.drop();
      }
    },
  };
}

/** Drops every database this file made; run after the file's tests (test/support/pg-teardown.ts). */
export async function dropPgDatabases(): Promise<void> {
  const all = made.splice(0);
  idle.length = 0;
  await Promise.all(all.map((temp) => temp.drop()));
}
