// The record reads of the PostgreSQL store, on the pool (outside a transaction) or on a transaction's connection.
import { and, asc, count, desc, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import type { NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import type { AuditAction } from '../../core/audit-entry.ts';
import type { ApprovalRecord, BlockedUserRecord, GrantRecord, RequestRecord } from '../../core/records.ts';
import type { RecordReads } from '../../core/store-port.ts';
import * as schema from './schema.ts';

const { approvals, auditLog, blockedUsers, grants, requests } = schema;

/** The pool's drizzle database or a transaction of it: both run the same queries. */
export type PgQueryable = PgDatabase<NodePgQueryResultHKT, typeof schema>;

export class PgReads implements RecordReads {
  constructor(protected readonly q: PgQueryable) {}

  async getRequest(id: number): Promise<RequestRecord | undefined> {
    return (await this.q.select().from(requests).where(eq(requests.id, id)))[0];
  }

  async getGrant(id: number): Promise<GrantRecord | undefined> {
    return (await this.q.select().from(grants).where(eq(grants.id, id)))[0];
  }

  grantsOfRequest(requestId: number): Promise<GrantRecord[]> {
    return this.q.select().from(grants).where(eq(grants.requestId, requestId)).orderBy(asc(grants.id));
  }

  approvalsFor(requestId: number): Promise<ApprovalRecord[]> {
    return this.q.select().from(approvals).where(eq(approvals.requestId, requestId)).orderBy(asc(approvals.id));
  }

  async blockOf(user: string): Promise<BlockedUserRecord | undefined> {
    return (await this.q.select().from(blockedUsers).where(eq(blockedUsers.user, user)))[0];
  }

  async isBlocked(user: string): Promise<boolean> {
    return (await this.blockOf(user)) !== undefined;
  }

  async blockedAmong(users: readonly string[]): Promise<Set<string>> {
    if (users.length === 0) return new Set();
    const rows = await this.q.select({ user: blockedUsers.user }).from(blockedUsers).where(inArray(blockedUsers.user, [...new Set(users)]));
    return new Set(rows.map((r) => r.user));
  }

  /** The block row is gone after an unblock, so the audit log, where every block is entered with it, is asked too. */
  async blockedSince(user: string, sinceMs: number): Promise<boolean> {
    const row = await this.blockOf(user);
    if (row !== undefined && row.blockedAt >= sinceMs) return true;
    const since = new Date(sinceMs).toISOString();
    const entry = await this.q
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'user.blocked'), gte(auditLog.at, since), sql`(${auditLog.details}::jsonb ->> 'user') = ${user}`))
      .limit(1);
    return entry.length > 0;
  }

  async lastAuditAt(action: AuditAction): Promise<Date | null> {
    const [row] = await this.q.select({ at: auditLog.at }).from(auditLog).where(eq(auditLog.action, action)).orderBy(desc(auditLog.id)).limit(1);
    return row ? new Date(row.at) : null;
  }

  async breakglassRequestsSince(user: string, since: number): Promise<number> {
    const [row] = await this.q
      .select({ n: count() })
      .from(requests)
      .where(and(eq(requests.requester, user), eq(requests.breakglass, true), isNull(requests.extendsGrantId), gte(requests.createdAt, since), inArray(requests.state, ['approved', 'scheduled'])));
    return row?.n ?? 0;
  }
}
