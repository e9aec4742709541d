// Opens the SQLite file (WAL, busy_timeout, foreign keys) and applies the migrations in migrations/sqlite/.
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';
import { cacheStatements } from './statement-cache.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations/sqlite', import.meta.url));

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

/** Why this process may not serve the database: another Sesame holds it, or the lock cannot be made. One sentence. */
export class InstanceLockError extends Error {
  override readonly name = 'InstanceLockError';
}

/** How many names the database file has; 1 for anything else (none yet, a folder, a path under a file): those fail below with a sentence. */
function hardLinks(path: string): number {
  try {
    const file = statSync(path, { throwIfNoEntry: false });
    return file?.isFile() ? file.nlink : 1;
  } catch {
    return 1;
  }
}

/** Held for as long as this process serves a database; `release` at shutdown. */
export interface InstanceLock {
  readonly path: string | null;
  release(): void;
}

/**
 * Makes this process the only Sesame on the database at `path`, or throws `InstanceLockError` with a sentence.
 * The lock is SQLite's own OS file lock (fcntl) on a small file beside the database, held by one connection in
 * exclusive locking mode: the kernel drops it the moment the process dies (SIGKILL, power loss), so a crash never
 * blocks the next start, and the database itself stays readable for `audit verify` and `policy explain`.
 */
export function lockInstance(path: string): InstanceLock {
  if (path === ':memory:') return { path: null, release: () => undefined };
  let lockPath = `${path}.lock`;
  let holder: Database.Database;
  // A hard link is a second real path to the file, with a lock (and a write-ahead log) of its own: two processes
  // could then serve one database, each blind to the other's writes. SQLite itself warns against such links.
  const links = hardLinks(path);
  if (links > 1) {
    throw new InstanceLockError(`The database file ${path} has ${links} names (hard links), so another Sesame could open it under another name beside this one and neither would see the other's writes; remove the other links (or copy the file) and start again.`);
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    // Named after the real file, so two paths to one database (a symlink, "./data" and "/app/data") share one lock.
    lockPath = `${existsSync(path) ? realpathSync(path) : join(realpathSync(dirname(path)), basename(path))}.lock`;
    holder = new Database(lockPath, { timeout: 0 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InstanceLockError(`Cannot create the lock file ${lockPath} beside the database (${reason}); DATABASE_PATH must name a file in a folder Sesame can write to.`);
  }
  try {
    holder.pragma('locking_mode = EXCLUSIVE');
    // The first write transaction takes the exclusive lock; in this locking mode it is kept until the connection closes.
    holder.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    holder.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new InstanceLockError(
        `Another Sesame process is already running on ${path} (it holds ${lockPath}); stop it first, or give this one its own DATABASE_PATH. Two processes on one database would revoke and notify twice.`,
      );
    }
    throw error;
  }
  return { path: lockPath, release: () => holder.close() };
}

/** How long the readiness write probe waits for a lock; /readyz must answer quickly whatever holds the database. */
const PROBE_BUSY_TIMEOUT_MS = 250;

/**
 * Null when the database takes a write now, else why not (locked by another program, disk full, read-only file).
 * A real committed write (the header's user_version, rewritten unchanged): a read or a rolled-back transaction
 * would not touch the disk and so could not notice it is full.
 */
export function writeProblem(db: Db): string | null {
  const client = db.$client;
  const busyTimeout = client.pragma('busy_timeout', { simple: true }) as number;
  client.pragma(`busy_timeout = ${PROBE_BUSY_TIMEOUT_MS}`);
  try {
    const version = client.pragma('user_version', { simple: true }) as number;
    client.pragma(`user_version = ${Number(version)}`);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    client.pragma(`busy_timeout = ${Number(busyTimeout)}`);
  }
}
