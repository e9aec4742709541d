// Post-access review: when a grant of a tier with `review:` ends, its reviewers say Looks right or Flag (with a reason).
import { TEAM_LEAD } from '../policy/schema.ts';
import { reviewersFor } from '../policy/teams.ts';
import { LOST_RACE } from './store-port.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import type { StorePort } from './store-port.ts';
import type { GrantRecord, ReviewVerdict } from './records.ts';
import type { AccessEvent, Clock, Directory, Notifier } from './ports.ts';
import type { DomainError } from './errors.ts';
import { grantRef, requestRef } from './ids.ts';
import type { ApproverFacts } from './lifecycle.ts';
import { approverFacts, blockedLeadsOf, teamsOf } from './membership.ts';
import { tierOfGrant } from './bundle-grants.ts';
import { auditRefusal } from './refusals.ts';
import { err, ok, type Result } from './result.ts';
import { reviewReminderDue } from './review-reminder.ts';

const REMINDED = 'grant.review_reminded' as const;

/** Who reviews a grant: the group it waits for, or the team leads stored with it. */
export const reviewersOf = (grant: GrantRecord): { group: string | null; leads: string[] } =>
  grant.reviewFrom === TEAM_LEAD ? { group: null, leads: grant.reviewLeads ?? [] } : { group: grant.reviewFrom, leads: [] };

/**
 * Pure: may this person give the review of this ended grant? Never the person who held it, never an outsider. `now`
 * is who reviews a team-lead review under today's policy: a lead taken off the team since is no reviewer any more.
 */
export function checkPostReview(grant: GrantRecord, reviewer: ApproverFacts, now?: Reviewers | null): Result<true, DomainError> {
  const id = grantRef(grant.id);
  if (grant.reviewedBy !== null) return err({ code: 'already_reviewed', grantId: id, by: grant.reviewedBy });
  if (grant.reviewFrom === null) return err({ code: 'review_not_pending', grantId: id });
  // Oversight means someone else looks, even where the holder is in the reviewing group or leads a team.
  if (reviewer.user === grant.user) return err({ code: 'review_own_grant', grantId: id });
  if (reviewer.outsider) return err({ code: 'outsider_refused', standing: reviewer.outsider });
  if (reviewer.blocked) return err({ code: 'blocked_decider' });
  const { group, leads } = now === undefined || now === null || grant.reviewFrom !== TEAM_LEAD ? reviewersOf(grant) : 'leads' in now ? { group: null, leads: now.leads } : { group: now.group, leads: [] };
  const allowed = group === null ? leads.includes(reviewer.user) : reviewer.groups.has(group);
  return allowed ? ok(true) : err({ code: 'not_reviewer', grantId: id, group, leads });
}

type Reviewers = ReturnType<typeof reviewersFor>;

/** For a team-lead review: the grantee's leads under today's policy less the blocked ones (the admins when none is left); else undefined. */
export async function teamLeadReviewersNow(deps: Pick<ReviewDeps, 'policy' | 'directory' | 'store'>, grant: GrantRecord): Promise<Reviewers | undefined> {
  if (grant.reviewFrom !== TEAM_LEAD) return undefined;
  const { policy } = deps.policy();
  const teams = await teamsOf(policy, grant.user, deps.directory);
  return reviewersFor(policy, TEAM_LEAD, { teams, user: grant.user, blockedLeads: await blockedLeadsOf(policy, teams, deps.store) });
}

export interface ReviewDeps {
  store: StorePort;
  policy: () => LoadedPolicy;
  directory: Directory;
  notifier: Notifier;
  clock: Clock;
}

export class PostAccessReviews {
  constructor(private readonly deps: ReviewDeps) {}

  /**
   * Asks for the review of a grant that just ended, when its tier (in the policy in force now) has `review:`. Break-glass
   * is left out: its review card goes out when the glass is broken. True when a review was asked for.
   */
  async open(grant: GrantRecord): Promise<boolean> {
    const { store, clock } = this.deps;
    if (grant.breakglass || grant.reviewFrom !== null) return false;
    const { policy } = this.deps.policy();
    // Most policies ask for no reviews: then no grant's end needs its request read to find its tier.
    if (!Object.values(policy.tiers).some((t) => t.review !== undefined)) return false;
    const request = await store.getRequest(grant.requestId);
    const tier = request === undefined ? undefined : tierOfGrant(policy, grant, request);
    const review = tier === undefined ? undefined : policy.tiers[tier]?.review;
    if (review === undefined || request === undefined) return false;
    // Only the teams are asked for (no standing): a Slack hiccup at the end of a grant must not lose its review.
    const teams = review === TEAM_LEAD ? await teamsOf(policy, grant.user, this.deps.directory) : new Set<string>();
    const reviewers = reviewersFor(policy, review, { teams, user: grant.user, blockedLeads: await blockedLeadsOf(policy, teams, store) });
    if (reviewers === null) return false; // policy check refuses review: team_lead without admins
    const from = 'leads' in reviewers ? TEAM_LEAD : reviewers.group;
    const leads = 'leads' in reviewers ? reviewers.leads : null;
    const now = clock.now();
    const asked = await store.transaction(now, async (tx) => {
      if (!(await tx.requestReview(grant.id, from, leads))) tx.abort();
      await tx.audit({ actor: 'sesame', action: 'grant.review_requested', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), details: { tier, review, reviewers: from, leads } });
    });
    if (asked === LOST_RACE) return false;
    await this.deps.notifier.notify({ type: 'grant_review_requested', grant: await store.getGrant(grant.id) as GrantRecord, request });
    return true;
  }

  /**
   * Wraps the notifier the grant keeper tells of ends: however a grant ended (expiry, revoke, a sweep), its review is
   * asked for right after. A failure here is the grant keeper's to log; the end itself stands.
   */
  onGrantEnd(inner: Notifier): Notifier {
    return {
      notify: async (event: AccessEvent) => {
        await inner.notify(event);
        if (event.type === 'grant_ended') await this.open(event.grant);
      },
      ...(inner.close ? { close: () => inner.close?.() ?? Promise.resolve() } : {}),
    };
  }

  /** Checks a Flag click before asking for the reason; a refusal is audited like any refused review. */
  async screen(grantId: number, reviewer: string): Promise<Result<GrantRecord, DomainError>> {
    const checked = await this.check(grantId, reviewer);
    return checked.ok ? ok(checked.value.grant) : checked;
  }

  /** Looks right, or Flag with a reason (which alerts the admins). */
  async give(grantId: number, reviewer: string, verdict: ReviewVerdict, note: string | null): Promise<Result<GrantRecord, DomainError>> {
    const { store, clock } = this.deps;
    const checked = await this.check(grantId, reviewer);
    if (!checked.ok) return checked;
    const { grant } = checked.value;
    const ids = { requestId: requestRef(grant.requestId), grantId: grantRef(grant.id) };
    const now = clock.now();
    const reason = note?.trim() ?? '';
    if (verdict === 'flagged' && reason === '') return auditRefusal(store, now, { actor: reviewer, action: 'grant.review_refused', ...ids, error: { code: 'flag_reason_required' } });
    const done = await store.transaction(now, async (tx) => {
      // Read with the write: a block that lands after the check above either sees this review (and reopens it) or is seen here.
      if (await tx.isBlocked(reviewer)) return 'blocked' as const;
      if (!(await tx.recordReview(grant.id, reviewer, verdict, verdict === 'flagged' ? reason : null, now.getTime()))) tx.abort();
      const details = { user: grant.user, resource: grant.resource, role: grant.role, reviewers: grant.reviewFrom, ...(verdict === 'flagged' ? { note: reason } : {}) };
      await tx.audit({ actor: reviewer, action: verdict === 'flagged' ? 'grant.flagged' : 'grant.reviewed', ...ids, details });
    });
    if (done === 'blocked') return auditRefusal(store, now, { actor: reviewer, action: 'grant.review_refused', ...ids, error: { code: 'blocked_decider' } });
    const fresh = await store.getGrant(grant.id) as GrantRecord;
    if (done === LOST_RACE) return auditRefusal(store, now, { actor: reviewer, action: 'grant.review_refused', ...ids, error: { code: 'already_reviewed', grantId: ids.grantId, by: fresh.reviewedBy ?? 'someone' } });
    await this.deps.notifier.notify({ type: 'grant_reviewed', grant: fresh, by: reviewer });
    return ok(fresh);
  }

  /** Ended grants waiting for this person's review; nothing for anyone else. */
  async waitingFor(user: string): Promise<GrantRecord[]> {
    const waiting = await this.deps.store.reviews.awaitingReview();
    if (waiting.length === 0) return [];
    const facts = await approverFacts(this.deps.policy().policy, user, this.deps.directory, this.deps.store);
    const now = await Promise.all(waiting.map((g) => this.reviewersNow(g)));
    return waiting.filter((g, i) => checkPostReview(g, facts, now[i]).ok);
  }

  /** Every review still to do, break-glass included (`sesame_reviews_pending`). */
  countPending = (): Promise<number> => this.deps.store.reviews.countPending();

  /** Reminds the reviewers once a day while reviews wait; true when it did. The audit log remembers when, across restarts. */
  async remindIfDue(): Promise<boolean> {
    const { store, clock } = this.deps;
    const waiting = await store.reviews.awaitingReview();
    const now = clock.now();
    const oldest = waiting.reduce<number | null>((min, g) => Math.min(min ?? Infinity, g.endedAt ?? g.createdAt), null);
    // Checked again inside the transaction: two sweeps at once (two processes) must not both record a reminder.
    const due = await store.transaction(now, async (tx) => {
      if (!reviewReminderDue(oldest, await tx.lastAuditAt(REMINDED), now)) return false;
      await tx.audit({ actor: 'sesame', action: REMINDED, details: { waiting: waiting.map((g) => grantRef(g.id)) } });
      return true;
    });
    if (due !== true) return false;
    await this.deps.notifier.notify({ type: 'grant_review_reminder', grants: waiting });
    return true;
  }

  private reviewersNow = (grant: GrantRecord): Promise<Reviewers | undefined> => teamLeadReviewersNow(this.deps, grant);

  private async check(grantId: number, reviewer: string): Promise<Result<{ grant: GrantRecord }, DomainError>> {
    const { store, clock } = this.deps;
    const grant = await store.getGrant(grantId);
    if (grant === undefined) return auditRefusal(store, clock.now(), { actor: reviewer, action: 'grant.review_refused', grantId: grantRef(grantId), error: { code: 'grant_not_found', grantId: grantRef(grantId) } });
    const allowed = checkPostReview(grant, await approverFacts(this.deps.policy().policy, reviewer, this.deps.directory, this.deps.store), await this.reviewersNow(grant));
    if (!allowed.ok) return auditRefusal(store, clock.now(), { actor: reviewer, action: 'grant.review_refused', requestId: requestRef(grant.requestId), grantId: grantRef(grant.id), error: allowed.error, details: { state: grant.state } });
    return ok({ grant });
  }
}
