// Look-ups for ending grants whose reason has gone: the incident channel, the auto-approving group, an admin's block.
import { and, asc, eq, gte, inArray, isNotNull, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { GrantState } from '../core/errors.ts';
import type { Db } from './db.ts';
import { restingOnApprovals } from './blocks.ts';
import { approvals, blockedUsers, grants, requests } from './schema.ts';

const LIVE: GrantState[] = ['active', 'revoke_failed'];

/** Live break-glass grants made from this channel. */
export function liveBreakglassGrantIdsIn(db: Db, channelId: string): number[] {
  return db
    .select({ id: grants.id })
    .from(grants)
    .innerJoin(requests, eq(requests.id, grants.requestId))
    .where(and(eq(grants.breakglass, true), inArray(grants.state, LIVE), eq(requests.channelId, channelId)))
    .orderBy(asc(grants.id))
    .all()
    .map((r) => r.id);
}

/** The channels live break-glass grants were made from, for the sweep that notices a missed archive event. */
export function channelsWithLiveBreakglass(db: Db): string[] {
  return db
    .selectDistinct({ channel: requests.channelId })
    .from(grants)
    .innerJoin(requests, eq(requests.id, grants.requestId))
    .where(and(eq(grants.breakglass, true), inArray(grants.state, LIVE), isNotNull(requests.channelId)))
    .all()
    .map((r) => r.channel as string);
}

/**
 * Live grants auto-approved because their holder was in a group, one row per group: the request that made the grant,
 * or an approved extension of it or of another grant of its request (a bundle member), was automatic because of that
 * group. A bundle's request names every group that made one of its members automatic, comma-separated; the grant
 * ends when its holder leaves any of them.
 */
export function liveGroupApprovedGrants(db: Db): { grantId: number; user: string; group: string }[] {
  const made = db
    .select({ grantId: grants.id, user: grants.user, groups: requests.autoGroup })
    .from(grants)
    .innerJoin(requests, eq(requests.id, grants.requestId))
    .where(and(inArray(grants.state, LIVE), isNotNull(requests.autoGroup)))
    .all();
  // An extension names one grant; every grant of that grant's request (a bundle's members) moved with it.
  const extendedGrant = alias(grants, 'extended_grant');
  const extended = db
    .select({ grantId: grants.id, user: grants.user, groups: requests.autoGroup })
    .from(grants)
    .innerJoin(extendedGrant, eq(extendedGrant.requestId, grants.requestId))
    .innerJoin(requests, eq(requests.extendsGrantId, extendedGrant.id))
    .where(and(inArray(grants.state, LIVE), eq(requests.state, 'approved'), isNotNull(requests.autoGroup)))
    .all();
  const rows = [...made, ...extended].flatMap((r) => (r.groups as string).split(',').map((group) => ({ grantId: r.grantId, user: r.user, group })));
  const seen = new Set<string>();
  return rows
    .filter((r) => !seen.has(`${r.grantId} ${r.group}`) && seen.add(`${r.grantId} ${r.group}`))
    .sort((a, b) => a.grantId - b.grantId);
}

/** Live grants of blocked people: a grant that was being made while `/access revoke-all` ran. */
export function liveGrantIdsOfBlocked(db: Db): number[] {
  return db
    .select({ id: grants.id })
    .from(grants)
    .innerJoin(blockedUsers, eq(blockedUsers.user, grants.user))
    .where(inArray(grants.state, LIVE))
    .orderBy(asc(grants.id))
    .all()
    .map((r) => r.id);
}

/** Live grants resting on the approval of someone now blocked: what a revoke-all cut short (a crash) had yet to end. */
export function liveGrantIdsApprovedByBlocked(db: Db): number[] {
  const blocked = db.select({ user: blockedUsers.user }).from(blockedUsers);
  return db
    .select({ id: grants.id })
    .from(grants)
    .where(and(inArray(grants.state, LIVE), restingOnApprovals(db, inArray(approvals.approver, blocked))))
    .orderBy(asc(grants.id))
    .all()
    .map((r) => r.id);
}

/** Grants whose review someone now blocked gave less than `windowMs` before their block. */
export function grantIdsReviewedByBlocked(db: Db, windowMs: number): number[] {
  return db
    .select({ id: grants.id })
    .from(grants)
    .innerJoin(blockedUsers, eq(blockedUsers.user, grants.reviewedBy))
    .where(gte(grants.reviewedAt, sql`${blockedUsers.blockedAt} - ${windowMs}`))
    .orderBy(asc(grants.id))
    .all()
    .map((r) => r.id);
}
