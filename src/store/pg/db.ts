// Opens a PostgreSQL pool from a postgres:// URL and applies migrations/postgres under an advisory lock, once across replicas.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { redactCredentials, redactUrl } from '../../core/redact.ts';
import * as schema from './schema.ts';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

export const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../migrations/postgres', import.meta.url));

/**
 * Keys of the session- and transaction-level advisory locks Sesame takes (any two constants of its own would do;
 * these spell "sesame" and a purpose in ASCII so they are recognisable in pg_locks).
 */
export const MIGRATION_LOCK_KEY = 0x736573616d65_01n;
export const WRITE_LOCK_KEY = 0x736573616d65_02n;

/** Why Sesame cannot use the database at DATABASE_URL: one sentence, with the password removed. */
export class PgDatabaseError extends Error {
  override readonly name = 'PgDatabaseError';
}

export interface PgOpenOptions {
  /** Apply pending migrations (the default); `false` for read-only tools and checks. */
  migrate?: boolean;
  /** Connections the pool keeps at most; every transaction holds one until it commits. */
  maxConnections?: number;
  /** How long a connection attempt may take before the database counts as unreachable. */
  connectTimeoutMs?: number;
  /** Told of an error on an idle pooled connection (the server restarted, say); the pool replaces the connection. */
  onIdleError?: (error: Error) => void;
}

/** Whether `url` names a PostgreSQL database (as opposed to a SQLite path). */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url.trim());

function parsedUrl(url: string): string {
  if (!isPostgresUrl(url)) {
    throw new PgDatabaseError(`DATABASE_URL must be a postgres:// or postgresql:// URL (it is ${redactUrl(url)}); for SQLite set DATABASE_PATH instead.`);
  }
  try {
    new URL(url);
  } catch {
    throw new PgDatabaseError(`DATABASE_URL is not a valid URL (${redactUrl(url)}); write it as postgres://user:password@host:5432/database, percent-encoding special characters in the password.`);
  }
  return url;
}

/** The failure of a first query as one sentence saying what to check; never the password. */
export function connectionProblem(url: string, error: unknown): PgDatabaseError {
  const code = (error as { code?: unknown }).code;
  const reason = redactCredentials(error instanceof Error ? error.message || String(code ?? 'unknown error') : String(error));
  const where = redactUrl(url);
  if (code === '3D000') return new PgDatabaseError(`The database named in DATABASE_URL (${where}) does not exist (${reason}); create it, or correct the name.`);
  if (code === '28P01' || code === '28000') return new PgDatabaseError(`PostgreSQL at ${where} refused the user or password of DATABASE_URL (${reason}); check them.`);
  return new PgDatabaseError(`Cannot reach PostgreSQL at ${where} (${reason}); check DATABASE_URL's host and port, and that the server is running and accepts connections.`);
}

/**
 * Opens a pool on `url`, checks that the database answers, and applies pending migrations (unless told not to).
 * Throws `PgDatabaseError` with a sentence when the URL is wrong or the database cannot be reached.
 */
export async function openPgDatabase(url: string, options: PgOpenOptions = {}): Promise<PgDb> {
  const pool = new pg.Pool({
    connectionString: parsedUrl(url),
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // Without a listener an idle connection's error (a server restart) would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const db = drizzle(pool, { schema }) as PgDb;
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw connectionProblem(url, error);
  }
  if (options.migrate ?? true) {
    try {
      await migratePg(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
  return db;
}

/**
 * Applies migrations/postgres holding a session advisory lock, so that replicas starting together migrate one after
 * another: the first applies them, the others then find nothing left to do (drizzle's migrator alone would race
 * on its own bookkeeping table and apply a migration twice).
 */
export async function migratePg(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken: unknown;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      // Nothing to apply: drizzle's migrator is not run, since it always issues CREATE SCHEMA/TABLE IF NOT EXISTS,
      // which a runtime role without DDL rights (one that does not own audit_log, so cannot drop its triggers) may not.
      if ((await appliedCount(client)) >= shippedPgMigrationCount()) return;
      await migrate(drizzle(client, { schema }), { migrationsFolder: PG_MIGRATIONS_FOLDER });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } catch (error) {
    broken = error;
    throw error;
  } finally {
    // A connection whose unlock may have failed must not go back to the pool still holding the lock.
    client.release(broken instanceof Error ? broken : undefined);
  }
}

/** How many migrations this version of Sesame ships for PostgreSQL. */
export const shippedPgMigrationCount = (): number =>
  (JSON.parse(readFileSync(join(PG_MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

async function appliedCount(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('drizzle.__drizzle_migrations')::text AS t");
  if (exists.rows[0]?.t == null) return 0;
  return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')).rows[0]?.n ?? 0);
}

/** How many migrations the database has had applied (0 when none ever ran). */
export async function appliedPgMigrationCount(db: PgDb): Promise<number> {
  const client = await db.$client.connect();
  try {
    return await appliedCount(client);
  } finally {
    client.release();
  }
}

/** Closes every pooled connection; the pool cannot be used afterwards. */
export const closePgDatabase = (db: PgDb): Promise<void> => db.$client.end();
