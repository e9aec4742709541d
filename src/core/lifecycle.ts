// The rules of the request and grant state machines as pure functions: who may do what, and what happens next.
import type { Policy } from '../policy/schema.ts';
import type { ApprovalRecord, GrantRecord, RequestRecord } from './records.ts';
import type { DomainError, GrantState, RequestState } from './errors.ts';
import { escalationGroupOf, hasEscalated, notInStepGroup } from './escalation-rules.ts';
import { grantRef, requestRef } from './ids.ts';
import { err, ok, type Result } from './result.ts';

export const REQUEST_TRANSITIONS: Readonly<Record<RequestState, readonly RequestState[]>> = {
  pending: ['approved', 'denied', 'cancelled', 'timed_out'],
  approved: ['failed', 'scheduled'],
  // A scheduled request goes back to `approved` when its window starts (and is granted), or is cancelled before.
  scheduled: ['approved', 'cancelled'],
  denied: [],
  cancelled: [],
  timed_out: [],
  failed: [],
};

export const GRANT_TRANSITIONS: Readonly<Record<GrantState, readonly GrantState[]>> = {
  pending: ['active', 'failed'],
  active: ['expired', 'revoked', 'revoke_failed'],
  revoke_failed: ['expired', 'revoked'],
  expired: [],
  revoked: [],
  failed: [],
};

/** States from which a grant must still be undone. */
export const LIVE_GRANT_STATES: GrantState[] = ['active', 'revoke_failed'];

export const canTransitionRequest = (from: RequestState, to: RequestState): boolean => REQUEST_TRANSITIONS[from].includes(to);
export const canTransitionGrant = (from: GrantState, to: GrantState): boolean => GRANT_TRANSITIONS[from].includes(to);

export interface ApproverFacts {
  user: string;
  groups: ReadonlySet<string>;
  isAdmin: boolean;
  /** Set for a Slack guest or someone from another workspace while the policy does not allow them. */
  outsider?: 'guest' | 'external' | null;
  /** Blocked by an admin's revoke-all: no group's powers, and none of a team lead's either. */
  blocked?: boolean;
}

/** The approval step a pending request is waiting on. */
export function currentStep(request: RequestRecord): { index: number; from: string; count: number; leads?: string[]; leads_blocked?: string[] } | null {
  const step = request.steps[request.currentStep];
  return step ? { index: request.currentStep, ...step } : null;
}

/** Whether this person's Approve click may count; the count itself is taken inside the transaction. */
export function checkApproval(request: RequestRecord, approvals: readonly ApprovalRecord[], approver: ApproverFacts): Result<{ step: number; from: string; count: number }, DomainError> {
  const id = requestRef(request.id);
  if (request.state !== 'pending') return err({ code: 'not_pending', requestId: id, state: request.state });
  const step = currentStep(request);
  if (step === null) return err({ code: 'not_pending', requestId: id, state: request.state });
  // A step that fell back past blocked leads stands for the lead's approval, which was never the requester's to give.
  if (approver.user === request.requester && (!request.selfApproval || step.leads_blocked !== undefined)) return err({ code: 'self_approval', requestId: id });
  if (approver.outsider) return err({ code: 'outsider_refused', standing: approver.outsider });
  if (approver.blocked) return err({ code: 'blocked_decider' });
  const outOfStep = whyNotInStep(request, step, approver);
  if (outOfStep !== null) return err(outOfStep);
  if (approvals.some((a) => a.step === step.index && a.approver === approver.user)) return err({ code: 'already_approved', requestId: id, step: step.index });
  // One person counts once per request: "security, then 2 sre-leads" must take three distinct people.
  const earlier = approvals.find((a) => a.approver === approver.user);
  if (earlier !== undefined) return err({ code: 'approved_earlier_step', requestId: id, step: earlier.step });
  return ok({ step: step.index, from: step.from, count: step.count });
}

/** Members of the current step's group and admins may deny; the requester cancels instead. */
export function checkDeny(request: RequestRecord, denier: ApproverFacts): Result<{ step: number }, DomainError> {
  const id = requestRef(request.id);
  if (request.state !== 'pending') return err({ code: 'not_pending', requestId: id, state: request.state });
  const step = currentStep(request);
  if (step === null) return err({ code: 'not_pending', requestId: id, state: request.state });
  if (denier.user === request.requester) return err({ code: 'self_approval', requestId: id });
  if (denier.outsider) return err({ code: 'outsider_refused', standing: denier.outsider });
  if (denier.blocked) return err({ code: 'blocked_decider' });
  const outOfStep = whyNotInStep(request, step, denier);
  if (outOfStep !== null && !denier.isAdmin) return err(outOfStep);
  return ok({ step: step.index });
}

/** A team-lead step is decided by the leads stored with it (never a group); any other step by its group. */
function whyNotInStep(request: RequestRecord, step: NonNullable<ReturnType<typeof currentStep>>, who: ApproverFacts): DomainError | null {
  // Once the step escalated, its escalate_to group may decide it too, team-lead step or not.
  const escalatedTo = hasEscalated(request) ? escalationGroupOf(request) : undefined;
  if (escalatedTo !== undefined && who.groups.has(escalatedTo)) return null;
  if (step.leads !== undefined) return step.leads.includes(who.user) ? null : { code: 'not_team_lead', requestId: requestRef(request.id), leads: step.leads, step: step.index };
  return who.groups.has(step.from) ? null : notInStepGroup(request);
}

/** The requester withdraws a pending request, or a scheduled one before its window starts (after that: revoke). */
export function checkCancel(request: RequestRecord, by: string): Result<true, DomainError> {
  const id = requestRef(request.id);
  if (request.requester !== by) return err({ code: 'not_requester', requestId: id });
  if (request.state !== 'pending' && request.state !== 'scheduled') return err({ code: 'not_pending', requestId: id, state: request.state });
  return ok(true);
}

/** Owners end their own grants; admins end anyone's. */
export function checkRevoke(grant: GrantRecord, by: ApproverFacts): Result<true, DomainError> {
  const id = grantRef(grant.id);
  if (grant.user !== by.user && !by.isAdmin) return err({ code: 'not_grant_owner', grantId: id });
  if (!LIVE_GRANT_STATES.includes(grant.state)) return err({ code: 'not_active', grantId: id, state: grant.state });
  return ok(true);
}

export function checkExtend(grant: GrantRecord, by: string): Result<true, DomainError> {
  const id = grantRef(grant.id);
  if (grant.user !== by) return err({ code: 'not_grant_owner', grantId: id });
  if (grant.state !== 'active') return err({ code: 'not_active', grantId: id, state: grant.state });
  return ok(true);
}

export const isRequestOverdue = (request: RequestRecord, now: Date): boolean =>
  request.state === 'pending' && request.timeoutAt !== null && request.timeoutAt <= now.getTime();

/** Holders are warned this long before a grant ends, when the grant is longer than twice this. */
export const EXPIRY_WARNING_MS = 10 * 60_000;

export function expiryWarningAt(grant: Pick<GrantRecord, 'startsAt' | 'expiresAt'>): Date | null {
  if (grant.startsAt === null || grant.expiresAt === null) return null;
  return grant.expiresAt - grant.startsAt > 2 * EXPIRY_WARNING_MS ? new Date(grant.expiresAt - EXPIRY_WARNING_MS) : null;
}

export const isGrantDue = (grant: GrantRecord, now: Date): boolean =>
  LIVE_GRANT_STATES.includes(grant.state) && grant.expiresAt !== null && grant.expiresAt <= now.getTime();

/** When a pending request times out and when its approvers are reminded. */
export function requestDeadlines(policy: Policy, createdAt: Date): { timeoutAt: Date; remindAt: Date | null } {
  const { request_timeout: timeout, remind_after: remind } = policy.settings;
  return {
    timeoutAt: new Date(createdAt.getTime() + timeout),
    remindAt: remind === undefined ? null : new Date(createdAt.getTime() + remind),
  };
}
