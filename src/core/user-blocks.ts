// `/access revoke-all` and `/access unblock`: an admin ends every live grant of a person at once (offboarding, a
// stolen account) and blocks their requests until unblocked. Every step is audited.
import { LOST_RACE } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import type { DomainError, GrantState } from './errors.ts';
import type { GrantKeeper } from './grant-keeper.ts';
import type { GrantKeeperDeps } from './grant-model.ts';
import { grantRef, requestRef } from './ids.ts';
import { LIVE_GRANT_STATES } from './lifecycle.ts';
import { TEAM_LEAD } from '../policy/schema.ts';
import { approverFacts } from './membership.ts';
import { teamLeadReviewersNow } from './post-review.ts';
import { auditRefusal } from './refusals.ts';
import { ok, type Result } from './result.ts';

/** How long revoke-all waits for grants being made at that moment (a provider call under way) to settle. */
export const SETTLE_WAIT_MS = 30_000;
const SETTLE_POLL_MS = 100;
/**
 * Reviews a blocked person gave this long before their block are taken back (a stolen account may have waved an
 * accomplice's break-glass through days before anyone noticed); older ones are left, or offboarding a reviewer of
 * years would reopen years of reviews.
 */
export const REVIEW_REOPEN_WINDOW_MS = 30 * 24 * 3_600_000;

export interface RevokeAllOutcome {
  user: string;
  /** False when the person was already blocked (their grants are ended again all the same). */
  newlyBlocked: boolean;
  /** Pending requests cancelled. */
  cancelled: number;
  /** Scheduled windows (approved, not yet started) cancelled, so none is granted at its start or after an unblock. */
  windowsCancelled: number;
  /** Other people's pending requests and scheduled windows this person approved a step of, cancelled so none goes on. */
  approvalsCancelled: number;
  /** Reviews (break-glass acknowledgements and post-access verdicts) this person gave in the 30 days before, waiting again. */
  reviewsReopened: number;
  /** Grants whose access is gone (confirmed by the provider's check where it has one). */
  ended: string[];
  /** Of those, other people's grants that rested on this person's approval: a stolen approver's approval carries nothing. */
  endedApproved: string[];
  /** Grants whose revoke failed (`revoke_failed`, retried by every sweep; the admins were alerted), and grants still at their provider when the wait ran out (taken back when the provider answers). */
  failed: { grantId: string; problem: string }[];
}

export class UserBlocks {
  constructor(
    private readonly deps: GrantKeeperDeps,
    private readonly grants: GrantKeeper,
    /** How long revoke-all waits for grants at their provider; shorter only in tests of what happens after it. */
    private readonly settleWaitMs = SETTLE_WAIT_MS,
  ) {}

  async revokeAll(user: string, by: string, reason: string): Promise<Result<RevokeAllOutcome, DomainError>> {
    const refused = await this.refuseUnlessAdmin(by, 'revoke-all', user);
    if (refused !== null) return refused;
    const { store, clock } = this.deps;
    // Blocking yourself drops your own admin powers, so your unblock would be refused: the last admin would lock everyone out.
    if (user === by) return auditRefusal(store, clock.now(), { actor: by, action: 'user.block_refused', error: { code: 'self_block' }, details: { user } });
    if (reason.trim() === '') return auditRefusal(store, clock.now(), { actor: by, action: 'user.block_refused', error: { code: 'reason_required' }, details: { user } });
    const now = clock.now();
    // Blocked first: from here on every new request, approval and grant of this person is refused.
    const newlyBlocked = await store.transaction(now, async (tx) => {
      if (!(await tx.insertBlock({ user, blockedBy: by, reason, blockedAt: now.getTime() }))) return false;
      await tx.audit({ actor: by, action: 'user.blocked', details: { user, reason } });
      return true;
    });
    const cancelled = await this.cancelOpen(await store.requestsBy(user, ['pending']), by, `cancelled by /access revoke-all: ${reason}`, 'user_blocked');
    const windowsCancelled = await this.cancelOpen(await store.requestsBy(user, ['scheduled']), by, `cancelled by /access revoke-all: ${reason}`, 'user_blocked');
    // What this person approved goes no further either: a stolen approver's approval must not carry an accomplice's request.
    const approved = await store.requestsApprovedBy(user, ['pending', 'scheduled']);
    const note = `cancelled because an approver of it (<@${user}>) was blocked by /access revoke-all: ${reason}`;
    const approvalsCancelled = await this.cancelOpen(approved, by, note, 'approver_blocked', user);
    // And a review given with the account closes nobody's oversight: it waits for the other reviewers again.
    const reviewsReopened = await this.reopenReviews(by, `revoke-all on its reviewer <@${user}>: ${reason}`, user);
    const outcome: RevokeAllOutcome = { user, newlyBlocked: newlyBlocked === true, cancelled, windowsCancelled, approvalsCancelled, reviewsReopened, ended: [], endedApproved: [], failed: [] };
    // A grant being made at this moment is still `pending`; it is waited for, then ended like the rest.
    const deadline = Date.now() + this.settleWaitMs;
    // Each grant is tried once here: one whose revoke failed is retried by every sweep, not every 100 ms of the wait.
    const tried = new Set<number>();
    for (;;) {
      for (const grant of await this.restingOn(user, LIVE_GRANT_STATES)) {
        if (tried.has(grant.id)) continue;
        tried.add(grant.id);
        const theirs = grant.user !== user;
        const ended = await this.grants.end(grant.id, 'revoked', by, theirs ? `revoke-all on its approver <@${user}>: ${reason}` : `revoke-all: ${reason}`);
        if (ended.kind === 'ended') {
          outcome.ended.push(grantRef(grant.id));
          if (theirs) outcome.endedApproved.push(grantRef(grant.id));
        } else if (ended.kind === 'revoke_failed') outcome.failed.push({ grantId: grantRef(grant.id), problem: ended.problem });
      }
      const left = (await this.restingOn(user, ['pending', ...LIVE_GRANT_STATES])).filter((g) => !tried.has(g.id));
      if (left.length === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    }
    // Still at its provider when the wait ran out: not gone, so not called gone. Its activation sees the block and undoes it.
    for (const grant of await this.restingOn(user, ['pending'])) outcome.failed.push({ grantId: grantRef(grant.id), problem: 'still being granted at its provider; it is taken back when the provider answers, or by the next sweep' });
    return ok(outcome);
  }

  /**
   * The person's grants in these states, and other people's whose request they approved a step of: an approval made
   * with a stolen account may have carried an accomplice's request just before the block, so those end too.
   */
  private async restingOn(user: string, states: GrantState[]): Promise<GrantRecord[]> {
    const { store } = this.deps;
    const [own, theirs] = await Promise.all([store.grantsOf(user, states), store.grantsApprovedBy(user, states)]);
    return [...own, ...theirs.filter((g) => !own.some((o) => o.id === g.id))];
  }

  /**
   * Takes back the reviews blocked people gave in the window before their block (only `reviewer`'s, when given), each
   * in a transaction of its own with its audit entry; every reconcile sweep runs it for what a revoke-all cut short left.
   * A review an unblock follows stays taken back, as approvals do. Returns how many were reopened; never throws.
   */
  async reopenReviews(actor: string, reason: string, reviewer?: string): Promise<number> {
    const { store, clock, notifier, log } = this.deps;
    let reopened = 0;
    for (const id of await store.reasons.grantIdsReviewedByBlocked(REVIEW_REOPEN_WINDOW_MS).catch(() => [])) {
      const grant = await store.getGrant(id);
      const by = grant?.reviewedBy ?? null;
      if (grant === undefined || by === null || (reviewer !== undefined && by !== reviewer)) continue;
      try {
        const to = await this.reviewRouteNow(grant);
        const rerouted = to === undefined ? {} : { reviewers: to.from, leads: to.leads };
        const done = await store.transaction(clock.now(), async (tx) => {
          if (!(await tx.reopenReview(id, by, to))) tx.abort();
          await tx.audit({ actor, action: 'grant.review_reopened', requestId: requestRef(grant.requestId), grantId: grantRef(id), details: { reviewer: by, breakglass: grant.breakglass, reason, ...rerouted } });
        });
        if (done === LOST_RACE) continue;
        reopened++;
        await notifier.notify({ type: 'review_reopened', grant: (await store.getGrant(id)) ?? grant, reviewer: by }).catch(() => undefined);
      } catch (error) {
        log.warn({ grantId: grantRef(id), problem: String(error) }, 'could not reopen a review a blocked account gave');
      }
    }
    return reopened;
  }

  /** Who reviews a team-lead review now, as the review store keeps it; undefined for any other review (or none left). */
  private async reviewRouteNow(grant: GrantRecord): Promise<{ from: string; leads: string[] | null } | undefined> {
    const now = await teamLeadReviewersNow(this.deps, grant);
    return now === undefined || now === null ? undefined : 'leads' in now ? { from: TEAM_LEAD, leads: now.leads } : { from: now.group, leads: null };
  }

  async unblock(user: string, by: string): Promise<Result<{ user: string }, DomainError>> {
    const refused = await this.refuseUnlessAdmin(by, 'unblock', user);
    if (refused !== null) return refused;
    const { store, clock } = this.deps;
    const now = clock.now();
    const done = await store.transaction(now, async (tx) => {
      if (!(await tx.deleteBlock(user))) tx.abort();
      await tx.audit({ actor: by, action: 'user.unblocked', details: { user } });
    });
    if (done === LOST_RACE) return auditRefusal(store, now, { actor: by, action: 'user.block_refused', error: { code: 'not_blocked', user }, details: { user } });
    return ok({ user });
  }

  private async refuseUnlessAdmin(by: string, action: 'revoke-all' | 'unblock', user: string): Promise<{ ok: false; error: DomainError } | null> {
    const facts = await approverFacts(this.deps.policy().policy, by, this.deps.directory, this.deps.store);
    if (facts.isAdmin) return null;
    return auditRefusal(this.deps.store, this.deps.clock.now(), { actor: by, action: 'user.block_refused', error: { code: 'not_admin', action }, details: { user, command: action } });
  }

  /**
   * Pending and scheduled requests are cancelled (each only from the state it was read in), so no approver grants one
   * after the block and no window starts; `approver` names the blocked person whose approval they rested on.
   */
  private async cancelOpen(open: RequestRecord[], by: string, note: string, code: 'user_blocked' | 'approver_blocked', approver?: string): Promise<number> {
    const { store, clock, scheduler, notifier, log } = this.deps;
    let cancelled = 0;
    for (const request of open) {
      const now = clock.now();
      const state = request.state === 'scheduled' ? 'scheduled' : 'pending';
      const done = await store.transaction(now, async (tx) => {
        if (!await tx.updateRequest(request.id, state, { state: 'cancelled', decidedAt: now.getTime(), decidedBy: by, decisionNote: note })) tx.abort();
        await tx.audit({ actor: by, action: 'request.cancelled', requestId: requestRef(request.id), details: { note, code, approver } });
      });
      if (done === LOST_RACE) continue;
      cancelled++;
      const fresh = await store.getRequest(request.id) as RequestRecord;
      await scheduler.cancelRequestJobs(request.id).catch((e: unknown) => log.warn({ problem: String(e) }, 'could not cancel the jobs of a cancelled request'));
      await notifier.notify({ type: 'request_cancelled', request: fresh, ...(code === 'approver_blocked' ? { approverBlocked: true as const } : {}) }).catch(() => undefined);
    }
    return cancelled;
  }
}

