// Every table Sesame keeps, as a pair (SQLite reader, PostgreSQL writer) for copying a database from SQLite to PostgreSQL.
import { asc, count, gt, sql } from 'drizzle-orm';
import type { Db } from './db.ts';
import type { PgQueryable } from './pg/reads.ts';
import * as pgSchema from './pg/schema.ts';
import * as sqliteSchema from './schema.ts';

/** Rows per INSERT: the widest table (grants, 31 columns) then stays far below PostgreSQL's 65,535 parameters. */
export const COPY_BATCH = 500;

/** One table as the copy sees it; rows go across as drizzle reads them, typed the same on both sides. */
export interface CopiedTable {
  /** The SQL name, as in both schemas. */
  name: string;
  /** What its rows are called in progress lines ("audit entries"). */
  rows: string;
  /** The SQLite rows in key order, a batch at a time, so a large table never sits in memory whole. */
  pages(source: Db): Iterable<readonly unknown[]>;
  countSqlite(source: Db): number;
  countPg(target: PgQueryable): Promise<number>;
  insert(target: PgQueryable, rows: readonly unknown[]): Promise<void>;
  /** The column whose identity sequence must continue after the copied ids (null: ids are not generated). */
  identity: string | null;
}

/** Key-set paging on an integer id: each page starts after the last id of the one before. */
function* byId<R extends { id: number }>(read: (afterId: number) => R[]): Iterable<R[]> {
  let after = 0;
  for (;;) {
    const page = read(after);
    if (page.length > 0) yield page;
    if (page.length < COPY_BATCH) return;
    after = (page[page.length - 1] as R).id;
  }
}

/** Tables keyed by text hold a few rows (blocked people, stream destinations): read whole, inserted in batches. */
function* inBatches<R>(rows: R[]): Iterable<R[]> {
  for (let i = 0; i < rows.length; i += COPY_BATCH) yield rows.slice(i, i + COPY_BATCH);
}

type SqliteTable = (typeof sqliteSchema)[TableKey];
type PgTable = (typeof pgSchema)[TableKey];
type TableKey = 'requests' | 'approvals' | 'grants' | 'auditLog' | 'auditStreamCursor' | 'blockedUsers';

const sqliteCount = (source: Db, table: SqliteTable): number => source.select({ n: count() }).from(table).get()?.n ?? 0;

async function pgCount(target: PgQueryable, table: PgTable): Promise<number> {
  const [row] = await target.select({ n: count() }).from(table);
  return row?.n ?? 0;
}

/**
 * In foreign-key order: requests before the grants and approvals that reference them. Adding a table to the schemas
 * without adding it here fails the copy test, which compares this list with the tables SQLite has.
 */
export const COPIED_TABLES: readonly CopiedTable[] = [
  {
    name: 'requests',
    rows: 'requests',
    identity: 'id',
    pages: (s) => byId((after) => s.select().from(sqliteSchema.requests).where(gt(sqliteSchema.requests.id, after)).orderBy(asc(sqliteSchema.requests.id)).limit(COPY_BATCH).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.requests),
    countPg: (t) => pgCount(t, pgSchema.requests),
    insert: async (t, rows) => void (await t.insert(pgSchema.requests).values(rows as (typeof sqliteSchema.requests.$inferSelect)[])),
  },
  {
    name: 'grants',
    rows: 'grants',
    identity: 'id',
    pages: (s) => byId((after) => s.select().from(sqliteSchema.grants).where(gt(sqliteSchema.grants.id, after)).orderBy(asc(sqliteSchema.grants.id)).limit(COPY_BATCH).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.grants),
    countPg: (t) => pgCount(t, pgSchema.grants),
    insert: async (t, rows) => void (await t.insert(pgSchema.grants).values(rows as (typeof sqliteSchema.grants.$inferSelect)[])),
  },
  {
    name: 'approvals',
    rows: 'approvals',
    identity: 'id',
    pages: (s) => byId((after) => s.select().from(sqliteSchema.approvals).where(gt(sqliteSchema.approvals.id, after)).orderBy(asc(sqliteSchema.approvals.id)).limit(COPY_BATCH).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.approvals),
    countPg: (t) => pgCount(t, pgSchema.approvals),
    insert: async (t, rows) => void (await t.insert(pgSchema.approvals).values(rows as (typeof sqliteSchema.approvals.$inferSelect)[])),
  },
  {
    name: 'audit_log',
    rows: 'audit entries',
    identity: null,
    pages: (s) => byId((after) => s.select().from(sqliteSchema.auditLog).where(gt(sqliteSchema.auditLog.id, after)).orderBy(asc(sqliteSchema.auditLog.id)).limit(COPY_BATCH).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.auditLog),
    countPg: (t) => pgCount(t, pgSchema.auditLog),
    insert: async (t, rows) => void (await t.insert(pgSchema.auditLog).values(rows as (typeof sqliteSchema.auditLog.$inferSelect)[])),
  },
  {
    name: 'blocked_users',
    rows: 'blocked people',
    identity: null,
    pages: (s) => inBatches(s.select().from(sqliteSchema.blockedUsers).orderBy(asc(sqliteSchema.blockedUsers.user)).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.blockedUsers),
    countPg: (t) => pgCount(t, pgSchema.blockedUsers),
    insert: async (t, rows) => void (await t.insert(pgSchema.blockedUsers).values(rows as (typeof sqliteSchema.blockedUsers.$inferSelect)[])),
  },
  {
    name: 'audit_stream_cursor',
    rows: 'audit stream cursors',
    identity: null,
    pages: (s) => inBatches(s.select().from(sqliteSchema.auditStreamCursor).orderBy(asc(sqliteSchema.auditStreamCursor.destination)).all()),
    countSqlite: (s) => sqliteCount(s, sqliteSchema.auditStreamCursor),
    countPg: (t) => pgCount(t, pgSchema.auditStreamCursor),
    insert: async (t, rows) => void (await t.insert(pgSchema.auditStreamCursor).values(rows as (typeof sqliteSchema.auditStreamCursor.$inferSelect)[])),
  },
];

/** Makes the table's identity sequence give max(id) + 1 next, so rows written after the copy continue its ids. */
export async function continueIdentity(target: PgQueryable, table: CopiedTable): Promise<void> {
  if (table.identity === null) return;
  const name = sql.identifier(table.name);
  const column = sql.identifier(table.identity);
  await target.execute(sql`SELECT setval(pg_get_serial_sequence(${table.name}, ${table.identity}), COALESCE(MAX(${column}), 0) + 1, false) FROM ${name}`);
}
