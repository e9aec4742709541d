// Oversight of break-glass: who may acknowledge a use, the acknowledgement, and a daily reminder while any waits.
import type { LoadedPolicy } from '../policy/load.ts';
import type { Policy } from '../policy/schema.ts';
import { LOST_RACE, type StorePort } from './store-port.ts';
import type { GrantRecord } from './records.ts';
import type { DomainError } from './errors.ts';
import { grantRef, requestRef } from './ids.ts';
import { approverFacts } from './membership.ts';
import type { Clock, Directory, Notifier } from './ports.ts';
import { auditRefusal } from './refusals.ts';
import { PostAccessReviews } from './post-review.ts';
import { err, ok, type Result } from './result.ts';
import { reviewReminderDue } from './review-reminder.ts';

export { REVIEW_REMINDER_MS, reviewReminderDue } from './review-reminder.ts';
const REVIEW_REMINDED = 'breakglass.review_reminded' as const;

/** The group that reviews break-glass: `breakglass.review_by`, else the admins. */
export const reviewGroupOf = (policy: Policy): string | undefined => policy.breakglass?.review_by ?? policy.settings.admins;

/** Pure: may `reviewer` (in `groups`) acknowledge this grant under this policy? */
export function checkReview(grant: GrantRecord, reviewer: string, groups: ReadonlySet<string>, policy: Policy): Result<string, DomainError> {
  const id = grantRef(grant.id);
  if (!grant.breakglass) return err({ code: 'not_breakglass', grantId: id });
  if (grant.reviewedBy !== null) return err({ code: 'already_reviewed', grantId: id, by: grant.reviewedBy });
  const group = reviewGroupOf(policy);
  if (group === undefined) return err({ code: 'review_not_configured' });
  // Oversight means someone else looks: even a reviewer cannot acknowledge their own use.
  if (reviewer === grant.user) return err({ code: 'review_own', grantId: id });
  if (!groups.has(group)) return err({ code: 'review_not_in_group', grantId: id, group });
  return ok(group);
}

export interface BreakglassReviewDeps {
  store: StorePort;
  policy: () => LoadedPolicy;
  directory: Directory;
  notifier: Notifier;
  clock: Clock;
}

/** Break-glass review, and (`post`) the review of ended grants of tiers with `review:`, which shares its reminder sweep. */
export class BreakglassReviews {
  readonly post: PostAccessReviews;

  constructor(private readonly deps: BreakglassReviewDeps) {
    this.post = new PostAccessReviews(deps);
  }

  async acknowledge(grantId: number, reviewer: string): Promise<Result<GrantRecord, DomainError>> {
    const { store, clock } = this.deps;
    const grant = await store.getGrant(grantId);
    if (grant === undefined) return auditRefusal(store, clock.now(), { actor: reviewer, action: 'breakglass.review_refused', grantId: grantRef(grantId), error: { code: 'grant_not_found', grantId: grantRef(grantId) } });
    const { policy } = this.deps.policy();
    // Guests and people from other workspaces hold no group's powers here either (settings.allow_guests).
    const allowed = checkReview(grant, reviewer, (await approverFacts(policy, reviewer, this.deps.directory, this.deps.store)).groups, policy);
    const now = clock.now();
    const ids = { requestId: requestRef(grant.requestId), grantId: grantRef(grant.id) };
    if (!allowed.ok) return auditRefusal(store, now, { actor: reviewer, action: 'breakglass.review_refused', ...ids, error: allowed.error });
    const done = await store.transaction(now, async (tx) => {
      // Read with the write: a block that lands after the check above either sees this review (and reopens it) or is seen here.
      if (await tx.isBlocked(reviewer)) return 'blocked' as const;
      if (!await tx.markReviewed(grant.id, reviewer, now.getTime())) tx.abort();
      await tx.audit({ actor: reviewer, action: 'breakglass.reviewed', ...ids, details: { used_by: grant.user, resource: grant.resource, role: grant.role, group: allowed.value } });
    });
    if (done === 'blocked') return auditRefusal(store, now, { actor: reviewer, action: 'breakglass.review_refused', ...ids, error: { code: 'blocked_decider' } });
    const fresh = await store.getGrant(grant.id) as GrantRecord;
    if (done === LOST_RACE) return auditRefusal(store, now, { actor: reviewer, action: 'breakglass.review_refused', ...ids, error: { code: 'already_reviewed', grantId: ids.grantId, by: fresh.reviewedBy ?? 'someone' } });
    await this.deps.notifier.notify({ type: 'breakglass_reviewed', grant: fresh, by: reviewer });
    return ok(fresh);
  }

  /** Unreviewed uses, for members of the review group; nothing for anyone else. */
  async waitingFor(user: string): Promise<GrantRecord[]> {
    const { policy } = this.deps.policy();
    const group = reviewGroupOf(policy);
    if (group === undefined || !(await approverFacts(policy, user, this.deps.directory, this.deps.store)).groups.has(group)) return [];
    return (await this.deps.store.unreviewedBreakglassGrants()).filter((g) => g.user !== user);
  }

  /** Reminds break-glass reviewers, and those of ended grants, each once a day while reviews wait; true when either was. */
  async remindIfDue(): Promise<boolean> {
    const glass = await this.remindBreakglassIfDue();
    const post = await this.post.remindIfDue();
    return glass || post;
  }

  /** Reminds the review group once a day while uses wait; true when it did. The audit log remembers when, across restarts. */
  private async remindBreakglassIfDue(): Promise<boolean> {
    const { store, clock } = this.deps;
    const waiting = await store.unreviewedBreakglassGrants();
    const now = clock.now();
    // Checked again inside the transaction: two sweeps at once (two processes) must not both record a reminder.
    const due = await store.transaction(now, async (tx) => {
      if (!reviewReminderDue(waiting[0]?.createdAt ?? null, await tx.lastAuditAt(REVIEW_REMINDED), now)) return false;
      await tx.audit({ actor: 'sesame', action: REVIEW_REMINDED, details: { waiting: waiting.map((g) => grantRef(g.id)) } });
      return true;
    });
    if (due !== true) return false;
    await this.deps.notifier.notify({ type: 'breakglass_review_reminder', grants: waiting });
    return true;
  }
}
