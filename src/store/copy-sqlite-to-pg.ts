// Copies a whole SQLite database into an empty PostgreSQL one in one transaction, ids and audit hashes intact, and verifies the copy.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { redactUrl } from '../core/redact.ts';
import { verifyAuditChain } from './audit.ts';
import { COPIED_TABLES, continueIdentity } from './copy-tables.ts';
import { appliedMigrationCount, InstanceLockError, lockInstance, MIGRATIONS_FOLDER, openDatabase, type Db, type InstanceLock } from './db.ts';
import { verifyPgAuditChain } from './pg/audit.ts';
import { closePgDatabase, openPgDatabase, WRITE_LOCK_KEY, type PgDb } from './pg/db.ts';
import type { PgQueryable } from './pg/reads.ts';

/** Why the copy was not made (or was rolled back): one sentence for the operator; the source is untouched. */
export class CopyRefused extends Error {
  override readonly name = 'CopyRefused';
}

export interface CopyOptions {
  sqlitePath: string;
  postgresUrl: string;
  /** Told of progress ("copied 12,000 of 40,000 audit entries"), and of each step. */
  progress?: (line: string) => void;
  /** A progress line at least every this many rows of one table, and at its end (default 10,000). */
  progressEvery?: number;
}

export interface CopySummary {
  /** Rows copied per table, in copy order. */
  rows: { table: string; rows: number }[];
  /** The audit chain's head on both sides after the copy (null for an empty log). */
  head: { id: number; hash: string } | null;
}


const figure = (n: number): string => n.toLocaleString('en-US');

/**
 * Copies every table of the SQLite database at `sqlitePath` into the PostgreSQL database at `postgresUrl`: migrates the
 * target, refuses a target holding any row, inserts in batches within one transaction holding Sesame's write lock,
 * continues the identity sequences after the copied ids, and commits only once the copy verifies (same row counts,
 * the PostgreSQL chain verifies and ends at SQLite's head). The SQLite file is opened read-only, and its instance lock
 * is held throughout so no Sesame starts on it mid-copy.
 */
export async function copySqliteToPg({ sqlitePath, postgresUrl, progress = () => undefined, progressEvery = 10_000 }: CopyOptions): Promise<CopySummary> {
  if (!existsSync(sqlitePath)) throw new CopyRefused(`There is no SQLite database at ${sqlitePath}; give --from the path of Sesame's database file (DATABASE_PATH).`);
  const lock = takeInstanceLock(sqlitePath);
  let source: Db | undefined;
  let target: PgDb | undefined;
  try {
    source = openDatabase(sqlitePath, { readonly: true });
    checkSourceMigrated(source, sqlitePath);
    // One read transaction: every table is read as of one moment, whatever else reads the file meanwhile.
    source.$client.exec('BEGIN');
    const sourceChain = verifyAuditChain(source.$client);
    if (!sourceChain.ok) {
      throw new CopyRefused(`The audit log of ${sqlitePath} does not verify (${sourceChain.problem}), so a copy could not be checked against it; run \`sesame audit verify\` there and resolve it first.`);
    }
    target = await openTarget(postgresUrl);
    const where = redactUrl(postgresUrl);
    await refuseNonEmpty(target, where);
    const opened = { source, target };
    const rows = await target.transaction(async (q) => {
      // Sesame's writers take this lock first: none can write on the target while it is being filled.
      await q.execute(sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK_KEY.toString()}::bigint)`);
      await refuseNonEmpty(q, where);
      const copied = await copyTables(opened.source, q, progress, progressEvery);
      for (const table of COPIED_TABLES) await continueIdentity(q, table);
      progress('verifying the copy');
      const problem = await copyProblem(opened.source, q);
      if (problem !== null) throw new CopyRefused(`The copy did not verify, so nothing was kept in ${where}: ${problem}.`);
      return copied;
    });
    return { rows, head: sourceChain.head };
  } finally {
    if (source?.$client.inTransaction) source.$client.exec('ROLLBACK');
    source?.$client.close();
    if (target !== undefined) await closePgDatabase(target);
    lock.release();
  }
}

/** Held for the whole copy: a Sesame running on the file (or starting mid-copy) would write rows the copy misses. */
function takeInstanceLock(path: string): InstanceLock {
  try {
    return lockInstance(path);
  } catch (error) {
    if (!(error instanceof InstanceLockError)) throw error;
    if (error.message.includes('(hard links)')) {
      throw new CopyRefused(`The database file ${path} has more than one name (hard links), so a Sesame running under another name could write to it while it is copied; copy it to a file of its own first (for example with sqlite3's .backup command) and copy from that.`);
    }
    if (!error.message.startsWith('Another Sesame')) throw new CopyRefused(error.message);
    throw new CopyRefused(`A Sesame is running on ${path}; stop it before copying, so that nothing is written to the database while it is copied.`);
  }
}

/** Copies a source with missing columns would lose data; it must be migrated (by `sesame migrate` or a start) first. */
function checkSourceMigrated(source: Db, path: string): void {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  let applied: number;
  try {
    applied = appliedMigrationCount(source);
  } catch {
    throw new CopyRefused(`${path} is not a Sesame database (it has no migration table); give --from the path of Sesame's database file.`);
  }
  if (applied < journal.entries.length) {
    throw new CopyRefused(
      `${path} lacks ${journal.entries.length - applied} of Sesame's migrations; run \`DATABASE_PATH=${path} sesame migrate\` with this version first, then copy.`,
    );
  }
}

async function openTarget(url: string): Promise<PgDb> {
  try {
    return await openPgDatabase(url, { maxConnections: 2 });
  } catch (error) {
    // The connection's sentences name DATABASE_URL; here the URL came from --to.
    throw new CopyRefused((error instanceof Error ? error.message : String(error)).replaceAll('DATABASE_URL', '--to'));
  }
}

async function refuseNonEmpty(target: PgQueryable, where: string): Promise<void> {
  const held: string[] = [];
  for (const table of COPIED_TABLES) {
    const n = await table.countPg(target);
    if (n > 0) held.push(`${figure(n)} ${table.rows}`);
  }
  if (held.length > 0) {
    throw new CopyRefused(`The PostgreSQL database at ${where} already holds data (${held.join(', ')}); copy only into a new, empty database, so nothing in it is mixed with or overwritten by the copy.`);
  }
}

async function copyTables(source: Db, target: PgQueryable, progress: (line: string) => void, every: number): Promise<CopySummary['rows']> {
  const copied: CopySummary['rows'] = [];
  for (const table of COPIED_TABLES) {
    const total = table.countSqlite(source);
    let done = 0;
    let reported = 0;
    for (const page of table.pages(source)) {
      await table.insert(target, page);
      done += page.length;
      if (done - reported >= every && done < total) {
        progress(`copied ${figure(done)} of ${figure(total)} ${table.rows}`);
        reported = done;
      }
    }
    progress(`copied ${figure(done)} ${table.rows}`);
    copied.push({ table: table.name, rows: done });
  }
  return copied;
}

/**
 * Null when the PostgreSQL copy matches the SQLite source: each table has as many rows, the copied audit chain verifies
 * and its head (id and hash) is SQLite's; otherwise what differs, as a clause.
 */
export async function copyProblem(source: Db, target: PgQueryable): Promise<string | null> {
  for (const table of COPIED_TABLES) {
    const [mine, theirs] = [table.countSqlite(source), await table.countPg(target)];
    if (mine !== theirs) return `${table.name} has ${figure(theirs)} rows in PostgreSQL but ${figure(mine)} in SQLite`;
  }
  const sqliteChain = verifyAuditChain(source.$client);
  const pgChain = await verifyPgAuditChain(target);
  if (!pgChain.ok) return `the copied audit log does not verify (${pgChain.problem})`;
  if (!sqliteChain.ok) return `the SQLite audit log does not verify (${sqliteChain.problem})`;
  const [a, b] = [sqliteChain.head, pgChain.head];
  if (a?.id !== b?.id || a?.hash !== b?.hash) {
    return `the copied audit log ends at entry ${b?.id ?? 0} (${b?.hash ?? 'empty'}) but SQLite's at entry ${a?.id ?? 0} (${a?.hash ?? 'empty'})`;
  }
  return null;
}
