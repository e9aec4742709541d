// The read-only tools' HistoryReader on a SQLite file, through drizzle over the SQLite schema.
import { and, asc, eq, gt, gte, inArray, lt, type SQL } from 'drizzle-orm';
import type { ApprovalRecord, AuditRecord, BlockedUserRecord, GrantRecord, RequestRecord } from '../core/records.ts';
import type { Db } from './db.ts';
import type { AuditFilter, CreatedWindow, HistoryReader } from './history-reader.ts';
import { approvals, auditLog, blockedUsers, grants, requests } from './schema.ts';

/** The conditions of an audit filter (PostgreSQL builds the same on its own schema). */
export function auditConditions(afterId: number, filter: AuditFilter): SQL[] {
  const conditions = [gt(auditLog.id, afterId)];
  if (filter.since !== undefined) conditions.push(gte(auditLog.at, filter.since));
  if (filter.until !== undefined) conditions.push(lt(auditLog.at, filter.until));
  if (filter.actions !== undefined) conditions.push(inArray(auditLog.action, [...filter.actions]));
  return conditions;
}

export class SqliteHistory implements HistoryReader {
  constructor(readonly db: Db) {}

  async auditPage(afterId: number, limit: number, filter: AuditFilter = {}): Promise<AuditRecord[]> {
    return this.db.select().from(auditLog).where(and(...auditConditions(afterId, filter))).orderBy(asc(auditLog.id)).limit(limit).all();
  }

  async auditHash(id: number): Promise<string | null> {
    return this.db.select({ hash: auditLog.hash }).from(auditLog).where(eq(auditLog.id, id)).get()?.hash ?? null;
  }

  async requestPage(afterId: number, limit: number, created?: CreatedWindow): Promise<RequestRecord[]> {
    const window = created === undefined ? [] : [gte(requests.createdAt, created.since), lt(requests.createdAt, created.until)];
    return this.db.select().from(requests).where(and(gt(requests.id, afterId), ...window)).orderBy(asc(requests.id)).limit(limit).all();
  }

  async grantPage(afterId: number, limit: number): Promise<GrantRecord[]> {
    return this.db.select().from(grants).where(gt(grants.id, afterId)).orderBy(asc(grants.id)).limit(limit).all();
  }

  async approvalPage(afterId: number, limit: number): Promise<ApprovalRecord[]> {
    return this.db.select().from(approvals).where(gt(approvals.id, afterId)).orderBy(asc(approvals.id)).limit(limit).all();
  }

  async blockedUsers(): Promise<BlockedUserRecord[]> {
    return this.db.select().from(blockedUsers).orderBy(asc(blockedUsers.user)).all();
  }

  async close(): Promise<void> {
    this.db.$client.close();
  }
}
