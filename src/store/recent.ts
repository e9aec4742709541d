// Read-only views of the newest audit entries and grants, for the playground's live side panel.
import { desc } from 'drizzle-orm';
import type { RecentAudit, RecentGrant } from '../core/records.ts';
import type { Db } from './db.ts';
import { auditLog, grants } from './schema.ts';

export function recentAuditEntries(db: Db, limit: number): RecentAudit[] {
  return db
    .select({ id: auditLog.id, at: auditLog.at, actor: auditLog.actor, action: auditLog.action, requestId: auditLog.requestId, grantId: auditLog.grantId })
    .from(auditLog)
    .orderBy(desc(auditLog.id))
    .limit(limit)
    .all();
}

export function recentGrants(db: Db, limit: number): RecentGrant[] {
  return db
    .select({ id: grants.id, user: grants.user, resource: grants.resource, role: grants.role, state: grants.state, breakglass: grants.breakglass, expiresAt: grants.expiresAt })
    .from(grants)
    .orderBy(desc(grants.id))
    .limit(limit)
    .all();
}
