// The block list of `/access revoke-all`: who is blocked (and since when), what a block reaches, and the writes.
import { and, asc, eq, inArray, or, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.ts';
import { hotQueries } from './hot-queries.ts';
import type { GrantState, RequestState } from '../core/errors.ts';
import { approvals, blockedUsers, grants, requests, type BlockedUserRow, type GrantRow, type RequestRow } from './schema.ts';

export function blockOf(db: Db, user: string): BlockedUserRow | undefined {
  return hotQueries(db).block.get({ user });
}

export const isBlocked = (db: Db, user: string): boolean => blockOf(db, user) !== undefined;

/** Which of these people are blocked now. */
export function blockedAmong(db: Db, users: readonly string[]): Set<string> {
  if (users.length === 0) return new Set();
  return new Set(db.select({ user: blockedUsers.user }).from(blockedUsers).where(inArray(blockedUsers.user, [...new Set(users)])).all().map((r) => r.user));
}

/** Requests in `states` that `approver` approved a step of, oldest first. */
export function requestsApprovedBy(db: Db, approver: string, states: RequestState[]): RequestRow[] {
  const approved = db.selectDistinct({ id: approvals.requestId }).from(approvals).where(eq(approvals.approver, approver));
  return db.select().from(requests).where(and(inArray(requests.id, approved), inArray(requests.state, states))).orderBy(asc(requests.id)).all();
}

/**
 * The condition on `grants` that a grant rests on an approval matching `approvers`: of its own request, or of an
 * approved extension of a grant of its request (an extension moves the end of every member of a bundle).
 */
export function restingOnApprovals(db: Db, approvers: SQL): SQL | undefined {
  const approved = db.selectDistinct({ id: approvals.requestId }).from(approvals).where(approvers);
  const extendedGrant = alias(grants, 'extended_grant');
  const extended = db
    .select({ id: extendedGrant.requestId })
    .from(requests)
    .innerJoin(extendedGrant, eq(extendedGrant.id, requests.extendsGrantId))
    .where(and(eq(requests.state, 'approved'), inArray(requests.id, approved)));
  return or(inArray(grants.requestId, approved), inArray(grants.requestId, extended));
}

/** Grants in `states` resting on an approval by `approver` (restingOnApprovals), oldest first. */
export function grantsApprovedBy(db: Db, approver: string, states: GrantState[]): GrantRow[] {
  return db.select().from(grants).where(and(inArray(grants.state, states), restingOnApprovals(db, eq(approvals.approver, approver)))).orderBy(asc(grants.id)).all();
}

/** False when the person was already blocked (the first block, its reason and its author stand). */
export function insertBlock(db: Db, row: BlockedUserRow): boolean {
  return db.insert(blockedUsers).values(row).onConflictDoNothing().run().changes === 1;
}

/** False when the person was not blocked. */
export function deleteBlock(db: Db, user: string): boolean {
  return db.delete(blockedUsers).where(eq(blockedUsers.user, user)).run().changes === 1;
}

/**
 * Whether an admin blocked this person (revoke-all) at or after `sinceMs`, whether or not they were unblocked again:
 * the block row is gone after an unblock, so the audit log, where every block is entered with it, is asked too.
 */
export function blockedSince(db: Db, user: string, sinceMs: number): boolean {
  const row = blockOf(db, user);
  if (row !== undefined && row.blockedAt >= sinceMs) return true;
  return hotQueries(db).blockEntrySince.get({ since: new Date(sinceMs).toISOString(), user }) !== undefined;
}
