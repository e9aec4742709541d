// `sesame migrate`: creates the database or applies the migrations it lacks, and says which it did; with --from/--to, copies SQLite into PostgreSQL.
import { existsSync } from 'node:fs';
import { appliedMigrationCount, openDatabase } from '../store/db.ts';
import type { CommandContext } from './command.ts';
import { EXIT, line } from './io.ts';
import { migratePostgres } from './migrate-postgres.ts';

export async function migrate(args: string[], context: CommandContext): Promise<number> {
  if (args.length > 0) return (await import('./migrate-copy.ts')).migrateCopy(args, context);
  const { io, config } = context;
  if (config.databaseUrl !== undefined) return migratePostgres(config.databaseUrl, io);
  const path = config.databasePath;
  const existed = path !== ':memory:' && existsSync(path);
  const before = existed ? countApplied(path) : 0;
  const db = openDatabase(path);
  const after = appliedMigrationCount(db);
  db.$client.close();
  const n = (count: number) => `${count} migration${count === 1 ? '' : 's'}`;
  if (!existed) line(io.stdout, `${path}: created, ${n(after)} applied`);
  else if (after > before) line(io.stdout, `${path}: applied ${n(after - before)} (${after} in all); now up to date`);
  else line(io.stdout, `${path}: already up to date (${n(after)} applied)`);
  return EXIT.ok;
}

function countApplied(path: string): number {
  const db = openDatabase(path, { migrate: false });
  try {
    return appliedMigrationCount(db);
  } catch {
    return 0; // a SQLite file Sesame never migrated
  } finally {
    db.$client.close();
  }
}
