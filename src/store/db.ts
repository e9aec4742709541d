// Opens the SQLite file (WAL, busy_timeout, foreign keys) and applies the migrations in migrations/.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';
import { cacheStatements } from './statement-cache.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface OpenOptions {
  /** Apply pending migrations (the default); `false` for read-only tools such as `audit verify`. */
  migrate?: boolean;
  readonly?: boolean;
}

/** Opens (creating its folder if needed) the database at `path`; `:memory:` works for tests. */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  if (path !== ':memory:' && !options.readonly) mkdirSync(dirname(path), { recursive: true });
  const client = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  if (!options.readonly) client.pragma('journal_mode = WAL');
  client.pragma('busy_timeout = 5000');
  client.pragma('foreign_keys = ON');
  client.pragma('synchronous = NORMAL');
  cacheStatements(client);
  const db = drizzle(client, { schema }) as Db;
  if (options.migrate ?? !options.readonly) migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return db;
}

/** How many migrations the database has had applied. */
export function appliedMigrationCount(db: Db): number {
  return (db.$client.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n;
}
