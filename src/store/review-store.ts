// The queries of post-access review: which ended grants wait for a review, and the review itself (SQLite).
import { and, asc, count, eq, inArray, isNotNull, isNull, or } from 'drizzle-orm';
import type { Db } from './db.ts';
import { grants, type GrantRow, type ReviewVerdict } from './schema.ts';

/** Ended grants waiting for review: break-glass uses (any state once granted) and grants of tiers with `review:`. */
const waiting = () => and(isNull(grants.reviewedBy), or(isNotNull(grants.reviewFrom), and(eq(grants.breakglass, true), inArray(grants.state, ['active', 'expired', 'revoked', 'revoke_failed']))));

/** Marks an ended grant as waiting for these reviewers; false when it already waits or was reviewed. Call inside a transaction. */
export function requestReview(db: Db, grantId: number, from: string, leads: string[] | null): boolean {
  return db.update(grants).set({ reviewFrom: from, reviewLeads: leads }).where(and(eq(grants.id, grantId), isNull(grants.reviewFrom), isNull(grants.reviewedBy))).run().changes === 1;
}

/** Records the verdict once; false when the grant is not waiting for review any more (a racing reviewer won). Call inside a transaction. */
export function recordReview(db: Db, grantId: number, reviewer: string, verdict: ReviewVerdict, note: string | null, at: number): boolean {
  return (
    db
      .update(grants)
      .set({ reviewedBy: reviewer, reviewedAt: at, reviewVerdict: verdict, reviewNote: note })
      .where(and(eq(grants.id, grantId), isNotNull(grants.reviewFrom), isNull(grants.reviewedBy)))
      .run().changes === 1
  );
}

/** Takes back the review `reviewer` gave (sent to `reviewers` when given); false when they did not give it. Call inside a transaction. */
export function reopenReview(db: Db, grantId: number, reviewer: string, reviewers?: { from: string; leads: string[] | null }): boolean {
  const to = reviewers === undefined ? {} : { reviewFrom: reviewers.from, reviewLeads: reviewers.leads };
  return db.update(grants).set({ reviewedBy: null, reviewedAt: null, reviewVerdict: null, reviewNote: null, ...to }).where(and(eq(grants.id, grantId), eq(grants.reviewedBy, reviewer))).run().changes === 1;
}

export function setReviewCard(db: Db, grantId: number, channel: string, ts: string): void {
  db.update(grants).set({ reviewCardChannel: channel, reviewCardTs: ts }).where(eq(grants.id, grantId)).run();
}

/** Ended grants of tiers with `review:` still waiting, oldest first. */
export function awaitingReview(db: Db): GrantRow[] {
  return db.select().from(grants).where(and(isNotNull(grants.reviewFrom), isNull(grants.reviewedBy))).orderBy(asc(grants.id)).all();
}

/** Every review still to do, break-glass included: the `sesame_reviews_pending` gauge. */
export function countPendingReviews(db: Db): number {
  return db.select({ n: count() }).from(grants).where(waiting()).get()?.n ?? 0;
}
