// `verifyTablesAgainstAudit` on a SQLite connection, synchronously (tests and harnesses call it after every step): TableCheck fed from SQLite.
import type Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { asc, gt } from 'drizzle-orm';
import { auditReplayer } from '../core/audit-replay.ts';
import { TableCheck, type TablesResult } from './audit-checks.ts';
import { exportedEntry } from './audit.ts';
import { READ_PAGE } from './history-reader.ts';
import * as schema from './schema.ts';

/** Every row of a table, a page at a time, in id order. */
function* pagesOf<T extends { id: number }>(read: (afterId: number) => T[]): Generator<T> {
  let after = 0;
  for (;;) {
    const page = read(after);
    yield* page;
    if (page.length < READ_PAGE) return;
    after = (page[page.length - 1] as T).id;
  }
}

/** Every difference between the tables and the log, in id order; empty when each row is what the log says. */
export function verifyTablesAgainstAudit(client: Database.Database): TablesResult {
  const db = drizzle(client, { schema });
  const { auditLog, requests, grants, approvals, blockedUsers } = schema;
  const replayer = auditReplayer();
  for (const row of pagesOf((after) => db.select().from(auditLog).where(gt(auditLog.id, after)).orderBy(asc(auditLog.id)).limit(READ_PAGE).all())) replayer.add(exportedEntry(row));
  const check = new TableCheck(replayer.result());
  for (const row of pagesOf((after) => db.select().from(requests).where(gt(requests.id, after)).orderBy(asc(requests.id)).limit(READ_PAGE).all())) check.request(row);
  for (const row of pagesOf((after) => db.select().from(grants).where(gt(grants.id, after)).orderBy(asc(grants.id)).limit(READ_PAGE).all())) check.grant(row);
  for (const row of pagesOf((after) => db.select().from(approvals).where(gt(approvals.id, after)).orderBy(asc(approvals.id)).limit(READ_PAGE).all())) check.approval(row);
  return check.finish(db.select().from(blockedUsers).all());
}
