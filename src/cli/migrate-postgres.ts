// `sesame migrate` with DATABASE_URL: applies the PostgreSQL migrations it lacks and says what it did (never the password).
import { redactUrl } from '../core/redact.ts';
import { appliedPgMigrationCount, closePgDatabase, migratePg, openPgDatabase, PgDatabaseError } from '../store/pg/db.ts';
import type { CliIo } from './io.ts';
import { EXIT, line } from './io.ts';

export async function migratePostgres(url: string, io: CliIo): Promise<number> {
  const where = `PostgreSQL at ${redactUrl(url)}`;
  let db;
  try {
    db = await openPgDatabase(url, { migrate: false, maxConnections: 1 });
  } catch (error) {
    if (!(error instanceof PgDatabaseError)) throw error;
    line(io.stderr, error.message);
    return EXIT.failed;
  }
  try {
    const before = await appliedPgMigrationCount(db);
    // Under the migration lock: replicas starting meanwhile wait, then find nothing left to apply.
    await migratePg(db.$client);
    const after = await appliedPgMigrationCount(db);
    const n = (count: number) => `${count} migration${count === 1 ? '' : 's'}`;
    if (before === 0 && after > 0) line(io.stdout, `${where}: created the tables, ${n(after)} applied`);
    else if (after > before) line(io.stdout, `${where}: applied ${n(after - before)} (${after} in all); now up to date`);
    else line(io.stdout, `${where}: already up to date (${n(after)} applied)`);
    return EXIT.ok;
  } finally {
    await closePgDatabase(db);
  }
}
