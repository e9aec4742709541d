// The use cases: request, approve, deny, cancel, time out, extend, revoke, expire, break glass — Slack-free.
import { requestableBundles } from '../policy/bundles.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import { breakglassRateLimited, decide, outsiderOf, type Decision, type Facts } from '../policy/decide.ts';
import type { Ms } from '../policy/duration.ts';
import { LOST_RACE } from './store-port.ts';
import type { GrantRecord, RequestRecord } from './records.ts';
import { describeError } from './describe-error.ts';
import type { DomainError } from './errors.ts';
import { BreakglassReviews } from './breakglass-review.ts';
import { escalateAtFor, Escalations } from './escalation.ts';
import { extendTogether, extensionQuery, fulfilBundle, revokeTogether } from './bundle-grants.ts';
import type { ApproveOutcome, GrantOutcome, NewAccessRequest, RequestOutcome } from './access-types.ts';
import { GrantKeeper } from './grant-keeper.ts';
import type { EndOutcome, GrantKeeperDeps } from './grant-model.ts';
import { grantRef, requestRef } from './ids.ts';
import { checkApproval, checkCancel, checkDeny, checkExtend, checkRevoke, isRequestOverdue, LIVE_GRANT_STATES, requestDeadlines, type ApproverFacts } from './lifecycle.ts';
import { approvalsVoidedByBlocks } from './grant-activation.ts';
import { approverFacts, decisionFacts, requesterFacts } from './membership.ts';
import { whyNoLongerAllowed } from './redecide.ts';
import type { AccessEvent } from './ports.ts';
import { replayDetails, requestCreatedDetails } from './audit-details.ts';
import { breakglassLimitReached } from './breakglass-limit.ts';
import { RefusalLog, type Refusal } from './refusals.ts';
import { newRequestRow } from './request-row.ts';
import { ScheduledWindows } from './scheduled-windows.ts';
import { StrandedRequests } from './stranded-requests.ts';
import { err, ok, type Result } from './result.ts';

export type AccessServiceDeps = GrantKeeperDeps;

export type { ApproveOutcome, GrantedOutcome, GrantOutcome, NewAccessRequest, RequestOutcome } from './access-types.ts';

export class AccessService {
  readonly grants: GrantKeeper;
  readonly reviews: BreakglassReviews;
  readonly escalations: Escalations;
  readonly windows: ScheduledWindows;
  readonly stranded: StrandedRequests;
  private readonly refusals: RefusalLog;
  constructor(private readonly deps: AccessServiceDeps) {
    this.reviews = new BreakglassReviews(deps);
    // Every end of a grant passes the post-access review, which asks for one where the grant's tier says `review:`.
    this.grants = new GrantKeeper({ ...deps, notifier: this.reviews.post.onGrantEnd(deps.notifier) });
    this.escalations = new Escalations(deps, (event) => this.notify(event));
    this.stranded = new StrandedRequests(deps, this.grants);
    this.windows = new ScheduledWindows(deps, (r) => this.stranded.granting(r.id, () => (r.bundleMembers === null ? this.grants.fulfil(r) : fulfilBundle(this.grants, this.deps, r, r.bundleMembers))));
    this.refusals = new RefusalLog(deps.store, deps.clock, (event) => this.notify(event));
  }

  /** A new request (or break-glass): decided by the policy, then granted, refused or sent for approval. */
  async request(input: NewAccessRequest): Promise<Result<RequestOutcome, DomainError>> {
    const facts = await this.factsOf(input);
    return this.open(input, decide(this.deps.policy().policy, input, facts, this.deps.clock.now()), null, facts);
  }

  /** What the policy would decide for this request now, changing nothing (`/access explain`, form validation). */
  async preview(input: NewAccessRequest): Promise<Decision> {
    return decide(this.deps.policy().policy, input, await this.factsOf(input), this.deps.clock.now());
  }

  private factsOf = (input: NewAccessRequest): Promise<Facts> => decisionFacts(this.deps, input);

  /** Like `preview`, for a submitted request form: a refusal is a refused request, audited and announced as one. */
  async screen(input: NewAccessRequest): Promise<Decision> {
    const facts = await this.factsOf(input);
    const decision = decide(this.deps.policy().policy, input, facts, this.deps.clock.now());
    if (decision.kind === 'refuse') await this.refusals.request(input, decision, null, replayDetails(facts));
    return decision;
  }

  /** Resources (and bundles of them) this person may request, for help and the request form. */
  async requestable(user: string): Promise<string[]> {
    const { policy } = this.deps.policy();
    const { groups, standing } = await this.requesterFacts(user);
    if (outsiderOf(policy, standing) !== null) return [];
    const names = Object.entries(policy.resources)
      .filter(([, r]) => r.eligible === undefined || r.eligible.some((g) => groups.has(g)))
      .map(([name]) => name);
    return names.concat(requestableBundles(policy, names));
  }

  /** More time on an active grant, decided like a new request for the extra duration, within the tier's maximum in total. */
  async extend(grantId: number, by: string, duration: Ms): Promise<Result<RequestOutcome, DomainError>> {
    const grant = await this.deps.store.getGrant(grantId);
    if (grant === undefined) return this.refusals.onGrant('grant.extend_refused', by, grantId, undefined, { code: 'grant_not_found', grantId: grantRef(grantId) });
    const allowed = checkExtend(grant, by);
    if (!allowed.ok) return this.refusals.onGrant('grant.extend_refused', by, grantId, grant, allowed.error);
    const query = await extensionQuery(this.deps, grant, by, duration);
    const facts = await this.requesterFacts(by);
    return this.open(query, decide(this.deps.policy().policy, query, facts, this.deps.clock.now()), grant, facts);
  }

  async approve(requestId: number, approver: string): Promise<Result<ApproveOutcome, DomainError>> {
    const { store, clock } = this.deps;
    const request = await store.getRequest(requestId);
    if (request === undefined) return this.refusals.refuse({ actor: approver, action: 'approval.refused', requestId: requestRef(requestId), error: { code: 'request_not_found', requestId: requestRef(requestId) } });
    const facts = await this.approverFacts(approver);
    const allowed = checkApproval(request, await store.approvalsFor(requestId), facts);
    if (!allowed.ok) return this.refusals.click(request, approver, allowed.error);
    // Judged again under today's policy: a request made under a laxer one (or by someone since removed) is not granted.
    const extended = request.extendsGrantId === null ? null : (await store.getGrant(request.extendsGrantId) ?? null);
    const stale = whyNoLongerAllowed(this.deps.policy().policy, request, extended, await this.requesterFacts(request.requester), clock.now());
    if (stale !== null) return this.cancelAsNoLongerAllowed(request, stale);
    const { step, count } = allowed.value;
    const lastStep = step === request.steps.length - 1;
    const now = clock.now();
    const ids = { requestId: requestRef(requestId) };

    const recorded = await store.transaction(now, async (tx): Promise<{ refused: DomainError } | { have: number; stepDone: boolean }> => {
      // Read again inside the transaction: the check above ran before the awaits that followed it.
      const earlier = await tx.approvalsFor(requestId);
      if (earlier.some((a) => a.approver === approver)) tx.abort();
      // Blocks are read with the write: revoke-all (after its block) cancels what this click approved, or this sees the block.
      if (await tx.isBlocked(approver)) return { refused: { code: 'blocked_decider' } };
      const stale = (await approvalsVoidedByBlocks(tx, earlier))[0];
      if (stale !== undefined) return { refused: { code: 'approval_by_blocked', requestId: ids.requestId, approver: stale.approver, step: stale.step } };
      if (!await tx.insertApproval(requestId, step, approver, now.getTime())) tx.abort();
      // The step's approvals are those just read and this one: nothing else writes inside this transaction.
      const have = earlier.filter((a) => a.step === step).length + 1;
      await tx.audit({ actor: approver, action: 'request.approval_recorded', ...ids, details: { step, have, need: count } });
      const stepDone = have >= count;
      const patch = !stepDone ? {} : lastStep ? { state: 'approved' as const, currentStep: step + 1, decidedAt: now.getTime(), approvedAt: now.getTime(), decidedBy: approver } : { currentStep: step + 1, escalateAt: escalateAtFor(request.steps, step + 1, now) };
      // Conditional on state and step, so a racing click or timeout cannot make this count twice.
      if (!await tx.updateRequest(requestId, 'pending', { ...patch, currentStep: patch.currentStep ?? step }, step)) tx.abort();
      if (stepDone && lastStep) await tx.audit({ actor: approver, action: 'request.approved', ...ids, details: { steps: request.steps.length } });
      return { have, stepDone };
    });
    if (recorded === LOST_RACE) {
      const fresh = await store.getRequest(requestId) as RequestRecord;
      const again = checkApproval(fresh, await store.approvalsFor(requestId), facts);
      return this.refusals.click(fresh, approver, again.ok ? { code: 'not_pending', requestId: ids.requestId, state: fresh.state } : again.error);
    }
    if ('refused' in recorded) return this.refusals.click(request, approver, recorded.refused);
    const updated = await store.getRequest(requestId) as RequestRecord;
    if (!recorded.stepDone) {
      await this.notify({ type: 'request_approval_recorded', request: updated, by: approver });
      return ok({ kind: 'recorded', request: updated, have: recorded.have, need: count });
    }
    if (!lastStep) {
      await Promise.all([this.safely(() => this.escalations.schedule(updated)), this.notify({ type: 'request_step_advanced', request: updated, by: approver })]);
      return ok({ kind: 'next_step', request: updated });
    }
    await this.safely(() => this.deps.scheduler.cancelRequestJobs(requestId));
    await this.notify({ type: 'request_approved', request: updated, by: approver });
    return ok({ kind: 'approved', request: updated, fulfilled: await this.fulfil(updated) });
  }

  /** Checks a Deny click before asking for a reason; a refusal is audited like any refused click. */
  async prepareDeny(requestId: number, denier: string): Promise<Result<RequestRecord, DomainError>> {
    const request = await this.deps.store.getRequest(requestId);
    if (request === undefined) return this.refusals.refuse({ actor: denier, action: 'approval.refused', requestId: requestRef(requestId), error: { code: 'request_not_found', requestId: requestRef(requestId) } });
    const allowed = checkDeny(request, await this.approverFacts(denier));
    return allowed.ok ? ok(request) : this.refusals.click(request, denier, allowed.error);
  }

  async deny(requestId: number, denier: string, note: string | null): Promise<Result<RequestRecord, DomainError>> {
    const allowed = await this.prepareDeny(requestId, denier);
    return allowed.ok ? this.close(allowed.value, 'denied', denier, { action: 'request.denied', note, refused: 'approval.refused' }) : allowed;
  }

  async cancel(requestId: number, by: string): Promise<Result<RequestRecord, DomainError>> {
    const request = await this.deps.store.getRequest(requestId);
    if (request === undefined) return this.refusals.refuse({ actor: by, action: 'request.cancel_refused', requestId: requestRef(requestId), error: { code: 'request_not_found', requestId: requestRef(requestId) } });
    const allowed = checkCancel(request, by);
    if (!allowed.ok) return this.refusals.refuse({ actor: by, action: 'request.cancel_refused', requestId: requestRef(request.id), error: allowed.error, details: { state: request.state } });
    return this.close(request, 'cancelled', by, { action: 'request.cancelled', note: null, refused: 'request.cancel_refused' });
  }

  /** Times out a pending request whose deadline has passed; false when there is nothing to do. */
  async timeOut(requestId: number): Promise<boolean> {
    const request = await this.deps.store.getRequest(requestId);
    if (request === undefined || !isRequestOverdue(request, this.deps.clock.now())) return false;
    return (await this.close(request, 'timed_out', 'sesame', { action: 'request.timed_out', note: null, refused: null })).ok;
  }

  /** Reminds the approvers of a request still pending; false when there is nothing to remind about. */
  async remind(requestId: number): Promise<boolean> {
    const request = await this.deps.store.getRequest(requestId);
    if (request?.state !== 'pending') return false;
    await this.notify({ type: 'request_reminder', request });
    return true;
  }

  async revoke(grantId: number, by: string): Promise<Result<EndOutcome, DomainError>> {
    const grant = await this.deps.store.getGrant(grantId);
    if (grant === undefined) return this.refusals.onGrant('grant.revoke_refused', by, grantId, undefined, { code: 'grant_not_found', grantId: grantRef(grantId) });
    const allowed = checkRevoke(grant, await this.approverFacts(by));
    if (!allowed.ok) return this.refusals.onGrant('grant.revoke_refused', by, grantId, grant, allowed.error);
    const ended = await revokeTogether(this.grants, this.deps, grant, by);
    // Someone else ended it between the check and the revoke: this attempt changed nothing, and says so in the log.
    if (ended.kind === 'not_live') await this.refusals.onGrant('grant.revoke_refused', by, grantId, ended.grant, { code: 'not_active', grantId: grantRef(grantId), state: ended.grant.state });
    return ok(ended);
  }

  /** The scheduled end of a grant; does nothing unless it is live and due. */
  expire(grantId: number): Promise<EndOutcome> {
    return this.grants.end(grantId, 'expired', 'sesame');
  }

  /** My pending and scheduled requests and my live grants. */
  async overview(user: string): Promise<{ requests: RequestRecord[]; grants: GrantRecord[] }> {
    const [requests, grants] = await Promise.all([this.deps.store.requestsBy(user, ['pending', 'scheduled']), this.deps.store.grantsOf(user, LIVE_GRANT_STATES)]);
    return { requests, grants };
  }

  /** Pending requests this person could approve right now. */
  async awaitingApprovalBy(user: string): Promise<RequestRecord[]> {
    const facts = await this.approverFacts(user);
    const pending = await this.deps.store.pendingRequests();
    const approvals = await Promise.all(pending.map((r) => this.deps.store.approvalsFor(r.id)));
    return pending.filter((r, i) => checkApproval(r, approvals[i] ?? [], facts).ok);
  }

  private async open(input: NewAccessRequest, decision: Decision, extending: GrantRecord | null, facts: Facts): Promise<Result<RequestOutcome, DomainError>> {
    const { store, clock } = this.deps;
    const now = clock.now();
    const ruleText = `${decision.rule.path.join('.')}: ${decision.rule.why}`;
    const replay = replayDetails(facts, input.extending);
    if (decision.kind === 'refuse') return this.refusals.request(input, decision, extending, replay);
    // Fail closed: no routine grant without a scheduled revocation. Break-glass fails open (with a timer).
    if (!input.breakglass && !(await this.deps.scheduler.available())) return this.refusals.request(input, { error: { code: 'scheduler_unavailable' } }, extending, replay);

    const resolved = decision.request;
    const auto = decision.kind === 'auto_approve';
    const { timeoutAt, remindAt } = requestDeadlines(this.deps.policy().policy, now);
    const overLimit = { max: null as number | null };
    const created = await store.transaction(now, async (tx) => {
      // Checked with the insert, as for grants: revoke-all's cancel scan (after its block) sees this row, or this sees the block.
      if (await tx.isBlocked(input.requester)) return tx.abort();
      if ((overLimit.max = await breakglassLimitReached(tx, this.deps.policy().policy, input, now)) !== null) return tx.abort();
      const row = await tx.insertRequest(newRequestRow(input, decision, extending, now, timeoutAt));
      const ids = { requestId: requestRef(row.id), grantId: extending ? grantRef(extending.id) : null };
      await tx.audit({ actor: input.requester, action: 'request.created', ...ids, details: { ...requestCreatedDetails(row, resolved.capped?.requested), ...replay } });
      if (input.breakglass) await tx.audit({ actor: input.requester, action: 'breakglass.used', ...ids, details: { channel: input.channelId ?? null, rule: ruleText } });
      else if (auto) await tx.audit({ actor: 'policy', action: 'request.auto_approved', ...ids, details: { rule: ruleText, group: row.autoGroup ?? undefined } });
      return row;
    });
    if (created === LOST_RACE) return overLimit.max !== null ? this.refusals.request(input, breakglassRateLimited(overLimit.max), extending, replay) : this.refusals.request(input, { error: { code: 'user_blocked' }, rule: { path: ['settings', 'admins'], why: 'an admin blocked this person with /access revoke-all while the request was being made' } }, extending, { ...replay, blocked: true });

    if (decision.kind === 'needs_approval') {
      await Promise.all([this.safely(() => this.deps.scheduler.scheduleRequestTimeout(created.id, timeoutAt, remindAt)), this.safely(() => this.escalations.schedule(created))]);
      await this.notify({ type: 'request_pending', request: created });
      return ok({ kind: 'pending', request: created, decision });
    }
    const outcome = await this.fulfil(created);
    return ok(resolved.capped ? { ...outcome, cappedFrom: resolved.capped.requested } : outcome);
  }

  /** Grants an approved request, or for an extension request moves its grant's end. */
  private async fulfil(request: RequestRecord): Promise<GrantOutcome> {
    if (request.extendsGrantId !== null) return extendTogether(this.grants, this.deps, request, request.extendsGrantId);
    return this.windows.fulfil(request);
  }

  /** `refused` is audited when a racing event closed the request first and this attempt, by a person, changed nothing. */
  private async close(request: RequestRecord, state: 'denied' | 'cancelled' | 'timed_out', actor: string, audit: { action: `request.${typeof state}`; note: string | null; refused: Refusal['action'] | null; details?: Record<string, string> }): Promise<Result<RequestRecord, DomainError>> {
    const now = this.deps.clock.now();
    const done = await this.deps.store.transaction(now, async (tx) => {
      if (!await tx.updateRequest(request.id, state === 'cancelled' && request.state === 'scheduled' ? 'scheduled' : 'pending', { state, decidedAt: now.getTime(), decidedBy: actor, decisionNote: audit.note })) tx.abort();
      await tx.audit({ actor, action: audit.action, requestId: requestRef(request.id), details: { note: audit.note, ...audit.details } });
    });
    const fresh = await this.deps.store.getRequest(request.id) as RequestRecord;
    if (done === LOST_RACE) {
      const error: DomainError = { code: 'not_pending', requestId: requestRef(request.id), state: fresh.state };
      return audit.refused === null ? err(error) : this.refusals.refuse({ actor, action: audit.refused, requestId: error.requestId, error, details: { state: fresh.state } });
    }
    await this.safely(() => this.deps.scheduler.cancelRequestJobs(request.id));
    const event: AccessEvent =
      state === 'denied' ? { type: 'request_denied', request: fresh, by: actor, note: audit.note } : state === 'cancelled' ? { type: 'request_cancelled', request: fresh } : { type: 'request_timed_out', request: fresh };
    await this.notify(event);
    return ok(fresh);
  }

  private approverFacts = (user: string): Promise<ApproverFacts> => approverFacts(this.deps.policy().policy, user, this.deps.directory, this.deps.store);

  private requesterFacts = (user: string) => requesterFacts(this.deps.policy().policy, user, this.deps.directory, this.deps.store);

  private async cancelAsNoLongerAllowed(request: RequestRecord, cause: DomainError): Promise<Result<ApproveOutcome, DomainError>> {
    const error: DomainError = { code: 'no_longer_allowed', requestId: requestRef(request.id), cause };
    const note = describeError(cause);
    const closed = await this.close(request, 'cancelled', 'sesame', { action: 'request.cancelled', note, refused: null, details: { code: error.code, cause: cause.code } });
    return err(closed.ok ? error : closed.error);
  }

  private notify(event: AccessEvent): Promise<void> {
    return this.safely(() => this.deps.notifier.notify(event));
  }

  private async safely(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.deps.log.warn({ problem: error instanceof Error ? error.message : String(error) }, 'side effect failed; state is unchanged');
    }
  }
}

export type { LoadedPolicy };
