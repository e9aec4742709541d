// Pure lifecycle rules: allowed transitions and who may approve, deny, cancel, revoke and extend.
import { describe, expect, it } from 'vitest';
import { canTransitionGrant, canTransitionRequest, checkApproval, checkCancel, checkDeny, checkExtend, checkRevoke, isGrantDue, isRequestOverdue, type ApproverFacts } from '../../src/core/lifecycle.ts';
import type { ApprovalRow, GrantRow, RequestRow } from '../../src/store/schema.ts';

const aRequest = (overrides: Partial<RequestRow> = {}): RequestRow => ({
  id: 7, requester: 'UREQ', resource: 'prod-db', role: 'write', tier: 'high', durationMs: 3_600_000, reason: 'INC-1', tickets: ['INC-1'],
  breakglass: false, state: 'pending', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }], currentStep: 0,
  selfApproval: false, extendsGrantId: null, channelId: null, rule: 'tiers.high.approvals', createdAt: 0, timeoutAt: 1000, startsAt: null,
  decidedAt: null, approvedAt: null, decidedBy: null, decisionNote: null, cardChannel: null, cardTs: null, autoGroup: null, escalateAt: null, escalatedStep: null, bundleMembers: null, ...overrides,
});
const aGrant = (overrides: Partial<GrantRow> = {}): GrantRow => ({
  id: 3, requestId: 7, user: 'UREQ', resource: 'prod-db', role: 'write', provider: { type: 'noop' }, providerState: null, reason: 'INC-1', breakglass: false,
  state: 'active', createdAt: 0, startsAt: 0, expiresAt: 1000, endedAt: null, endedBy: null, revokeAttempts: 0, reviewedBy: null, reviewedAt: null, cleanupPending: null, dmChannel: null, dmTs: null, identity: null, accessKey: null, reviewFrom: null, reviewLeads: null, reviewVerdict: null, reviewNote: null, reviewCardChannel: null, reviewCardTs: null, ...overrides,
});
const approval = (step: number, approver: string): ApprovalRow => ({ id: 1, requestId: 7, step, approver, at: 0 });
const person = (user: string, groups: string[] = [], isAdmin = false): ApproverFacts => ({ user, groups: new Set(groups), isAdmin });

describe('state machines', () => {
  it.each([
    ['pending', 'approved', true], ['pending', 'timed_out', true], ['approved', 'failed', true],
    ['denied', 'approved', false], ['approved', 'pending', false], ['timed_out', 'approved', false],
  ] as const)('request %s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransitionRequest(from, to)).toBe(allowed);
  });

  it.each([
    ['active', 'expired', true], ['active', 'revoke_failed', true], ['revoke_failed', 'revoked', true],
    ['expired', 'active', false], ['revoked', 'revoke_failed', false], ['pending', 'revoked', false],
  ] as const)('grant %s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransitionGrant(from, to)).toBe(allowed);
  });
});

describe('checkApproval', () => {
  it('accepts a member of the current step group', () => {
    expect(checkApproval(aRequest(), [], person('USEC', ['security']))).toEqual({ ok: true, value: { step: 0, from: 'security', count: 1 } });
  });

  it('refuses the requester unless the tier allows self-approval', () => {
    expect(checkApproval(aRequest(), [], person('UREQ', ['security'])).error?.code).toBe('self_approval');
    expect(checkApproval(aRequest({ selfApproval: true }), [], person('UREQ', ['security'])).ok).toBe(true);
  });

  it("refuses someone outside the current step's group, even if in a later step's group", () => {
    expect(checkApproval(aRequest(), [], person('ULEAD', ['sre-leads'])).error).toMatchObject({ code: 'not_in_step_group', group: 'security', step: 0 });
  });

  it('refuses a second approval of the same step by the same person', () => {
    const request = aRequest({ currentStep: 1 });
    expect(checkApproval(request, [approval(1, 'ULEAD')], person('ULEAD', ['sre-leads'])).error?.code).toBe('already_approved');
    expect(checkApproval(request, [approval(0, 'UOTHER')], person('ULEAD', ['sre-leads'])).ok).toBe(true);
  });

  it('counts one person once per request: an approver of an earlier step cannot approve a later one', () => {
    const request = aRequest({ currentStep: 1 });
    expect(checkApproval(request, [approval(0, 'UBOTH')], person('UBOTH', ['security', 'sre-leads'])).error).toMatchObject({ code: 'approved_earlier_step', step: 0 });
  });

  it('refuses clicks on a request that is no longer pending', () => {
    expect(checkApproval(aRequest({ state: 'denied' }), [], person('USEC', ['security'])).error).toMatchObject({ code: 'not_pending', state: 'denied' });
  });
});

describe('checkDeny', () => {
  it('lets the current step group or an admin deny, but not the requester', () => {
    expect(checkDeny(aRequest(), person('USEC', ['security'])).ok).toBe(true);
    expect(checkDeny(aRequest(), person('UADM', [], true)).ok).toBe(true);
    expect(checkDeny(aRequest(), person('UOUT')).error?.code).toBe('not_in_step_group');
    expect(checkDeny(aRequest(), person('UREQ', ['security'])).error?.code).toBe('self_approval');
  });
});

describe('checkCancel, checkRevoke, checkExtend', () => {
  it('lets only the requester cancel, and only while pending', () => {
    expect(checkCancel(aRequest(), 'UREQ').ok).toBe(true);
    expect(checkCancel(aRequest(), 'UOTHER').error?.code).toBe('not_requester');
    expect(checkCancel(aRequest({ state: 'approved' }), 'UREQ').error?.code).toBe('not_pending');
  });

  it('lets the holder or an admin revoke a live grant', () => {
    expect(checkRevoke(aGrant(), person('UREQ')).ok).toBe(true);
    expect(checkRevoke(aGrant(), person('UADM', [], true)).ok).toBe(true);
    expect(checkRevoke(aGrant({ state: 'revoke_failed' }), person('UREQ')).ok).toBe(true);
    expect(checkRevoke(aGrant(), person('UOTHER')).error?.code).toBe('not_grant_owner');
    expect(checkRevoke(aGrant({ state: 'expired' }), person('UREQ')).error?.code).toBe('not_active');
  });

  it('lets only the holder extend an active grant', () => {
    expect(checkExtend(aGrant(), 'UREQ').ok).toBe(true);
    expect(checkExtend(aGrant(), 'UADM').error?.code).toBe('not_grant_owner');
    expect(checkExtend(aGrant({ state: 'revoked' }), 'UREQ').error?.code).toBe('not_active');
  });
});

describe('deadlines', () => {
  it('finds overdue requests and due grants', () => {
    expect(isRequestOverdue(aRequest(), new Date(999))).toBe(false);
    expect(isRequestOverdue(aRequest(), new Date(1000))).toBe(true);
    expect(isRequestOverdue(aRequest({ state: 'cancelled' }), new Date(5000))).toBe(false);
    expect(isGrantDue(aGrant(), new Date(1000))).toBe(true);
    expect(isGrantDue(aGrant({ state: 'revoked' }), new Date(5000))).toBe(false);
  });
});
