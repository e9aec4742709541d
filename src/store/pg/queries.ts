// The PostgreSQL store's side queries: grants whose reason has gone, post-access review, the playground's recent views.
import { and, asc, count, desc, eq, gte, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { GrantState } from '../../core/errors.ts';
import type { GrantRecord, GroupApprovedGrant, RecentAudit, RecentGrant } from '../../core/records.ts';
import type { ReasonQueries, RecentQueries, ReviewQueries } from '../../core/store-port.ts';
import type { PgQueryable } from './reads.ts';
import { approvals, auditLog, blockedUsers, grants, requests } from './schema.ts';

const LIVE: GrantState[] = ['active', 'revoke_failed'];

/** As SQLite's: a grant rests on an approval matching `approvers`, of its own request or of an approved extension. */
export function pgRestingOnApprovals(q: PgQueryable, approvers: SQL): SQL | undefined {
  const approved = q.selectDistinct({ id: approvals.requestId }).from(approvals).where(approvers);
  const extendedGrant = alias(grants, 'extended_grant');
  const extended = q
    .select({ id: extendedGrant.requestId })
    .from(requests)
    .innerJoin(extendedGrant, eq(extendedGrant.id, requests.extendsGrantId))
    .where(and(eq(requests.state, 'approved'), inArray(requests.id, approved)));
  return or(inArray(grants.requestId, approved), inArray(grants.requestId, extended));
}

export function pgReasonQueries(q: PgQueryable): ReasonQueries {
  return {
    liveBreakglassGrantIdsIn: async (channelId) =>
      (
        await q
          .select({ id: grants.id })
          .from(grants)
          .innerJoin(requests, eq(requests.id, grants.requestId))
          .where(and(eq(grants.breakglass, true), inArray(grants.state, LIVE), eq(requests.channelId, channelId)))
          .orderBy(asc(grants.id))
      ).map((r) => r.id),
    channelsWithLiveBreakglass: async () =>
      (
        await q
          .selectDistinct({ channel: requests.channelId })
          .from(grants)
          .innerJoin(requests, eq(requests.id, grants.requestId))
          .where(and(eq(grants.breakglass, true), inArray(grants.state, LIVE), isNotNull(requests.channelId)))
      ).map((r) => r.channel as string),
    liveGroupApprovedGrants: () => liveGroupApprovedGrants(q),
    liveGrantIdsOfBlocked: async () =>
      (await q.select({ id: grants.id }).from(grants).innerJoin(blockedUsers, eq(blockedUsers.user, grants.user)).where(inArray(grants.state, LIVE)).orderBy(asc(grants.id))).map((r) => r.id),
    liveGrantIdsApprovedByBlocked: async () => {
      const blocked = q.select({ user: blockedUsers.user }).from(blockedUsers);
      return (await q.select({ id: grants.id }).from(grants).where(and(inArray(grants.state, LIVE), pgRestingOnApprovals(q, inArray(approvals.approver, blocked)))).orderBy(asc(grants.id))).map((r) => r.id);
    },
    grantIdsReviewedByBlocked: async (windowMs) =>
      (
        await q
          .select({ id: grants.id })
          .from(grants)
          .innerJoin(blockedUsers, eq(blockedUsers.user, grants.reviewedBy))
          .where(gte(grants.reviewedAt, sql`${blockedUsers.blockedAt} - ${windowMs}::bigint`))
          .orderBy(asc(grants.id))
      ).map((r) => r.id),
  };
}

/** As SQLite's: the grant's own request, or an approved extension of a grant of its request, was automatic because of a group. */
async function liveGroupApprovedGrants(q: PgQueryable): Promise<GroupApprovedGrant[]> {
  const made = await q
    .select({ grantId: grants.id, user: grants.user, groups: requests.autoGroup })
    .from(grants)
    .innerJoin(requests, eq(requests.id, grants.requestId))
    .where(and(inArray(grants.state, LIVE), isNotNull(requests.autoGroup)));
  const extendedGrant = alias(grants, 'extended_grant');
  const extended = await q
    .select({ grantId: grants.id, user: grants.user, groups: requests.autoGroup })
    .from(grants)
    .innerJoin(extendedGrant, eq(extendedGrant.requestId, grants.requestId))
    .innerJoin(requests, eq(requests.extendsGrantId, extendedGrant.id))
    .where(and(inArray(grants.state, LIVE), eq(requests.state, 'approved'), isNotNull(requests.autoGroup)));
  const rows = [...made, ...extended].flatMap((r) => (r.groups as string).split(',').map((group) => ({ grantId: r.grantId, user: r.user, group })));
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(`${r.grantId} ${r.group}`) && seen.add(`${r.grantId} ${r.group}`)).sort((a, b) => a.grantId - b.grantId);
}

/** Ended grants waiting for review: break-glass uses (any state once granted) and grants of tiers with `review:`. */
const waiting = () => and(isNull(grants.reviewedBy), or(isNotNull(grants.reviewFrom), and(eq(grants.breakglass, true), inArray(grants.state, ['active', 'expired', 'revoked', 'revoke_failed']))));

export function pgReviewQueries(q: PgQueryable): ReviewQueries {
  return {
    setReviewCard: async (grantId, channel, ts) => {
      await q.update(grants).set({ reviewCardChannel: channel, reviewCardTs: ts }).where(eq(grants.id, grantId));
    },
    awaitingReview: (): Promise<GrantRecord[]> => q.select().from(grants).where(and(isNotNull(grants.reviewFrom), isNull(grants.reviewedBy))).orderBy(asc(grants.id)),
    countPending: async () => (await q.select({ n: count() }).from(grants).where(waiting()))[0]?.n ?? 0,
  };
}

export function pgRecentQueries(q: PgQueryable): RecentQueries {
  return {
    auditEntries: (limit): Promise<RecentAudit[]> =>
      q
        .select({ id: auditLog.id, at: auditLog.at, actor: auditLog.actor, action: auditLog.action, requestId: auditLog.requestId, grantId: auditLog.grantId })
        .from(auditLog)
        .orderBy(desc(auditLog.id))
        .limit(limit),
    grants: (limit): Promise<RecentGrant[]> =>
      q
        .select({ id: grants.id, user: grants.user, resource: grants.resource, role: grants.role, state: grants.state, breakglass: grants.breakglass, expiresAt: grants.expiresAt })
        .from(grants)
        .orderBy(desc(grants.id))
        .limit(limit),
  };
}
