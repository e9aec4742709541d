// The read-only tools' HistoryReader on PostgreSQL, through drizzle over the PostgreSQL schema (the same queries as SQLite's).
import { and, asc, eq, gt, gte, inArray, lt } from 'drizzle-orm';
import type { ApprovalRecord, AuditRecord, BlockedUserRecord, GrantRecord, RequestRecord } from '../../core/records.ts';
import type { AuditFilter, CreatedWindow, HistoryReader } from '../history-reader.ts';
import { HistoryUnavailable } from '../history-reader.ts';
import { closePgDatabase, openPgDatabase, PgDatabaseError, type PgDb } from './db.ts';
import { approvals, auditLog, blockedUsers, grants, requests } from './schema.ts';

export class PgHistory implements HistoryReader {
  constructor(readonly db: PgDb) {}

  auditPage(afterId: number, limit: number, filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const conditions = [gt(auditLog.id, afterId)];
    if (filter.since !== undefined) conditions.push(gte(auditLog.at, filter.since));
    if (filter.until !== undefined) conditions.push(lt(auditLog.at, filter.until));
    if (filter.actions !== undefined) conditions.push(inArray(auditLog.action, [...filter.actions]));
    return this.db.select().from(auditLog).where(and(...conditions)).orderBy(asc(auditLog.id)).limit(limit);
  }

  async auditHash(id: number): Promise<string | null> {
    const [row] = await this.db.select({ hash: auditLog.hash }).from(auditLog).where(eq(auditLog.id, id));
    return row?.hash ?? null;
  }

  requestPage(afterId: number, limit: number, created?: CreatedWindow): Promise<RequestRecord[]> {
    const window = created === undefined ? [] : [gte(requests.createdAt, created.since), lt(requests.createdAt, created.until)];
    return this.db.select().from(requests).where(and(gt(requests.id, afterId), ...window)).orderBy(asc(requests.id)).limit(limit);
  }

  grantPage(afterId: number, limit: number): Promise<GrantRecord[]> {
    return this.db.select().from(grants).where(gt(grants.id, afterId)).orderBy(asc(grants.id)).limit(limit);
  }

  approvalPage(afterId: number, limit: number): Promise<ApprovalRecord[]> {
    return this.db.select().from(approvals).where(gt(approvals.id, afterId)).orderBy(asc(approvals.id)).limit(limit);
  }

  blockedUsers(): Promise<BlockedUserRecord[]> {
    return this.db.select().from(blockedUsers).orderBy(asc(blockedUsers.user));
  }

  close(): Promise<void> {
    return closePgDatabase(this.db);
  }
}

/** Opens PostgreSQL for reading only: no migration is applied, one sentence when it cannot be reached. */
export async function openPgHistory(url: string): Promise<PgHistory> {
  try {
    return new PgHistory(await openPgDatabase(url, { migrate: false, maxConnections: 2 }));
  } catch (error) {
    if (error instanceof PgDatabaseError) throw new HistoryUnavailable(error.message);
    throw error;
  }
}
