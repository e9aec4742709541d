// The lifecycle use cases end to end through the core: real SQLite, fake provider, scheduler, notifier and directory.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const HOUR = 3_600_000;
const EVENING = new Date('2026-11-23T19:00:00Z'); // 20:00 in Berlin: outside business hours

describe('AccessService', () => {
  let h: Harness;
  useFreshHarness((fresh) => (h = fresh));

  const requestSandbox = (duration?: number) => h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration, reason: 'trying INC-1' });
  const requestProdWrite = () => h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'migration INC-7' });
  const requestDeployersInTheEvening = (requester: string = PEOPLE.engineer) => {
    h.clock.set(EVENING);
    return h.service.request({ requester, resource: 'deployers', duration: HOUR, reason: 'release INC-3' });
  };

  describe('request', () => {
    it('grants an auto-approved request at once and schedules its revocation', async () => {
      const out = await requestSandbox();
      expect(out.ok).toBe(true);
      if (out.value?.kind !== 'granted') throw new Error(`expected a grant, got ${out.value?.kind}`);
      const { grant, request } = out.value;
      expect(request).toMatchObject({ state: 'approved', resource: 'sandbox', role: 'admin', durationMs: 2 * HOUR, tickets: ['INC-1'], decidedBy: 'policy' });
      expect(grant).toMatchObject({ state: 'active', user: PEOPLE.engineer, provider: { type: 'noop' }, expiresAt: h.clock.now().getTime() + 2 * HOUR });
      expect(h.scheduler.revokes.get(grant.id)?.getTime()).toBe(grant.expiresAt);
      expect(h.provider.present.has(`G${grant.id}`)).toBe(true);
      expect((await h.auditActions())).toEqual(['request.created', 'request.auto_approved', 'grant.activated']);
      expect(h.notifier.types()).toEqual(['grant_activated']);
    });

    it('records the policy sha256 with every audit entry', async () => {
      await requestSandbox();
      const shas = await h.sql.all('SELECT DISTINCT policy_sha256 AS s FROM audit_log');
      expect(shas).toEqual([{ s: aLoadedPolicy().sha256 }]);
    });

    it('refuses what the policy refuses, audits it, and creates nothing', async () => {
      const out = await requestSandbox(9 * HOUR);
      expect(out.error).toMatchObject({ code: 'duration_too_long', max: 8 * HOUR });
      expect(await h.store.requestsBy(PEOPLE.engineer, ['pending', 'approved'])).toEqual([]);
      expect((await h.auditActions())).toEqual(['request.refused']);
    });

    it('sends a request that needs approval to the approvers with a timeout and a reminder', async () => {
      const out = await requestProdWrite();
      expect(out.value).toMatchObject({ kind: 'pending', request: { state: 'pending', currentStep: 0, steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }] } });
      const id = out.value?.request.id ?? 0;
      expect(h.scheduler.timeouts.get(id)).toEqual({ timeoutAt: new Date(h.clock.now().getTime() + HOUR), remindAt: new Date(h.clock.now().getTime() + 15 * 60_000) });
      expect(h.notifier.types()).toEqual(['request_pending']);
      expect(h.provider.count('grant')).toBe(0);
    });

    it('fails closed when the scheduler is down: no routine grant without a scheduled revocation', async () => {
      h.scheduler.isAvailable = false;
      const out = await requestSandbox();
      expect(out.error).toEqual({ code: 'scheduler_unavailable' });
      expect(h.provider.count('grant')).toBe(0);
    });
  });

  describe('multi-step approval', () => {
    it('counts approvals step by step, refusing the requester, outsiders, the wrong step and double clicks', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      const refusal = async (user: string) => (await h.service.approve(id, user)).error?.code;

      expect(await refusal(PEOPLE.engineer)).toBe('self_approval');
      expect(await refusal(PEOPLE.outsider)).toBe('not_in_step_group');
      expect(await refusal(PEOPLE.lead1)).toBe('not_in_step_group'); // sre-leads decide only at step 2
      expect((await h.service.approve(id, PEOPLE.security)).value).toMatchObject({ kind: 'next_step', request: { currentStep: 1 } });
      expect(await refusal(PEOPLE.security)).toBe('not_in_step_group');
      expect((await h.service.approve(id, PEOPLE.lead1)).value).toMatchObject({ kind: 'recorded', have: 1, need: 2 });
      expect(await refusal(PEOPLE.lead1)).toBe('already_approved');
      const last = await h.service.approve(id, PEOPLE.lead2);
      expect(last.value).toMatchObject({ kind: 'approved', request: { state: 'approved', decidedBy: PEOPLE.lead2 }, fulfilled: { kind: 'granted' } });
      expect(await refusal(PEOPLE.security)).toBe('not_pending');

      expect((await h.auditActions())).toEqual([
        'request.created',
        'approval.refused', 'approval.refused', 'approval.refused',
        'request.approval_recorded',
        'approval.refused',
        'request.approval_recorded',
        'approval.refused',
        'request.approval_recorded', 'request.approved', 'grant.activated',
        'approval.refused',
      ]);
      expect(h.scheduler.timeouts.has(id)).toBe(false);
      expect(h.notifier.types()).toEqual(['request_pending', 'request_step_advanced', 'request_approval_recorded', 'request_approved', 'grant_activated']);
    });

    it('produces exactly one grant when two approvers click at the same instant', async () => {
      const id = (await requestDeployersInTheEvening()).value?.request.id ?? 0;
      const results = await Promise.all([h.service.approve(id, PEOPLE.lead1), h.service.approve(id, PEOPLE.lead2)]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.find((r) => !r.ok)?.error).toMatchObject({ code: 'not_pending', state: 'approved' });
      expect(h.provider.count('grant')).toBe(1);
      expect(await h.sql.get('SELECT count(*) AS n FROM grants')).toEqual({ n: 1 });
      expect(await h.store.approvalsFor(id)).toHaveLength(1);
    });

    it('completes a two-approval step when both approvers click at the same instant', async () => {
      const policy = aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 2 }] } } });
      h.setPolicy(policy);
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      const results = await Promise.all([h.service.approve(id, PEOPLE.lead1), h.service.approve(id, PEOPLE.lead2)]);
      expect(results.every((r) => r.ok)).toBe(true);
      expect((await h.store.getRequest(id))?.state).toBe('approved');
      expect(h.provider.count('grant')).toBe(1);
    });
    it('needs three distinct people for "security, then 2 sre-leads", even when one is in both groups', async () => {
      h.setPolicy(aLoadedPolicy({ groups: { security: { users: [PEOPLE.security, PEOPLE.lead1] } } }));
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      expect((await h.service.approve(id, PEOPLE.lead1)).value).toMatchObject({ kind: 'next_step' });
      expect((await h.service.approve(id, PEOPLE.lead1)).error).toMatchObject({ code: 'approved_earlier_step', step: 0 });
      expect((await h.service.approve(id, PEOPLE.lead2)).value).toMatchObject({ kind: 'recorded', have: 1, need: 2 });
      expect((await h.store.getRequest(id))?.state).toBe('pending');
      expect(h.provider.count('grant')).toBe(0);
      expect((await h.auditActions()).filter((a) => a === 'approval.refused')).toHaveLength(1);
    });

    it('counts a person in both groups once even when their two clicks race', async () => {
      h.setPolicy(aLoadedPolicy({ groups: { security: { users: [PEOPLE.security, PEOPLE.lead1] } } }));
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      const results = await Promise.all([h.service.approve(id, PEOPLE.lead1), h.service.approve(id, PEOPLE.lead1)]);
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect((await h.store.approvalsFor(id)).map((a) => a.approver)).toEqual([PEOPLE.lead1]);
      expect(await h.store.getRequest(id)).toMatchObject({ state: 'pending', currentStep: 1 });
    });
  });

  describe('deny, cancel, time out', () => {
    it('denies with a reason, once', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      expect((await h.service.deny(id, PEOPLE.outsider, 'no')).error?.code).toBe('not_in_step_group');
      expect((await h.service.deny(id, PEOPLE.engineer, 'no')).error?.code).toBe('self_approval');
      expect((await h.service.deny(id, PEOPLE.security, 'use the replica')).value).toMatchObject({ state: 'denied', decisionNote: 'use the replica', decidedBy: PEOPLE.security });
      expect((await h.service.approve(id, PEOPLE.security)).error?.code).toBe('not_pending');
      expect(h.notifier.events.find((e) => e.type === 'request_denied')).toMatchObject({ note: 'use the replica', by: PEOPLE.security });
    });

    it('lets only the requester cancel a pending request', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      expect((await h.service.cancel(id, PEOPLE.lead1)).error?.code).toBe('not_requester');
      expect((await h.service.cancel(id, PEOPLE.engineer)).value?.state).toBe('cancelled');
      expect((await h.service.cancel(id, PEOPLE.engineer)).error).toMatchObject({ code: 'not_pending', state: 'cancelled' });
      expect(h.scheduler.timeouts.has(id)).toBe(false);
    });

    it('times a request out only once its deadline has passed', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.clock.advance(HOUR - 1000);
      expect(await h.service.timeOut(id)).toBe(false);
      h.clock.advance(1000);
      expect(await h.service.timeOut(id)).toBe(true);
      expect(await h.service.timeOut(id)).toBe(false);
      expect((await h.store.getRequest(id))?.state).toBe('timed_out');
      expect((await h.auditActions()).filter((a) => a === 'request.timed_out')).toHaveLength(1);
    });

    it('reports unknown ids as not found', async () => {
      expect((await h.service.approve(999, PEOPLE.security)).error).toEqual({ code: 'request_not_found', requestId: 'R999' });
      expect((await h.service.revoke(999, PEOPLE.security)).error).toEqual({ code: 'grant_not_found', grantId: 'G999' });
    });
  });

  describe('grant failures', () => {
    it('retries a failing provider and grants on the third attempt', async () => {
      h.provider.failGrants = 2;
      expect((await requestSandbox()).value?.kind).toBe('granted');
      expect(h.provider.count('grant')).toBe(3);
    });

    it('marks the request failed after three failed attempts and tells the requester', async () => {
      h.provider.failGrants = 3;
      const out = await requestSandbox();
      expect(out.value).toMatchObject({ kind: 'failed', request: { state: 'failed' }, problem: 'fake provider: grant failed' });
      expect(await h.sql.all('SELECT state FROM grants')).toEqual([{ state: 'failed' }]);
      expect((await h.auditActions())).toEqual(['request.created', 'request.auto_approved', 'grant.failed']);
      expect(h.notifier.types()).toEqual(['request_failed']);
      expect(h.scheduler.revokes.size).toBe(0);
      // A failed attempt may still have granted (a timeout after the change): the provider is asked to undo it.
      expect(h.provider.calls.map((c) => c.op)).toEqual(['grant', 'grant', 'grant', 'revoke']);
    });

    it('hands the state a provider returned at grant back to it at revoke', async () => {
      const seen: unknown[] = [];
      const original = h.provider.revoke.bind(h.provider);
      h.provider.grant = async () => ({ state: { standing: false, note: 'kept' } });
      h.provider.revoke = async (s) => {
        seen.push(s.providerState);
        return original(s);
      };
      const out = await requestSandbox();
      if (out.value?.kind !== 'granted') throw new Error('expected a grant');
      expect(out.value.grant.providerState).toEqual({ standing: false, note: 'kept' });
      await h.service.revoke(out.value.grant.id, PEOPLE.engineer);
      expect(seen).toEqual([{ standing: false, note: 'kept' }]);
    });

    it('refuses, and undoes, a grant whose end passed before it could start (a clock jump)', async () => {
      h.provider.duringGrant = () => h.clock.advance(3 * HOUR);
      const out = await requestSandbox(HOUR);
      expect(out.value).toMatchObject({ kind: 'failed', problem: expect.stringContaining("before it could start; check the server's clock") });
      expect(h.provider.count('revoke')).toBe(1);
      expect(h.provider.present.size).toBe(0);
      expect(h.scheduler.revokes.size).toBe(0);
    });

    it('does not retry a failure the provider calls permanent', async () => {
      h.provider.failGrants = 5;
      h.provider.permanentFailure = true;
      expect((await requestSandbox()).value?.kind).toBe('failed');
      expect(h.provider.count('grant')).toBe(1);
    });
  });

  describe('ending grants', () => {
    const grantSandbox = async () => {
      const out = await requestSandbox(HOUR);
      if (out.value?.kind !== 'granted') throw new Error('expected a grant');
      return out.value.grant;
    };

    it('revokes early for the holder, verifies absence and cancels the job', async () => {
      const grant = await grantSandbox();
      expect((await h.service.revoke(grant.id, PEOPLE.outsider)).error?.code).toBe('not_grant_owner');
      const out = await h.service.revoke(grant.id, PEOPLE.engineer);
      expect(out.value).toMatchObject({ kind: 'ended', grant: { state: 'revoked', endedBy: PEOPLE.engineer }, verified: true });
      expect(h.provider.present.size).toBe(0);
      expect(h.scheduler.revokes.has(grant.id)).toBe(false);
      expect((await h.auditActions()).slice(-2)).toEqual(['grant.revoked', 'grant.verified_absent']);
    });

    it('warns the holder ten minutes before a grant longer than twenty minutes ends', async () => {
      const grant = await grantSandbox();
      expect(h.scheduler.warnings.get(grant.id)?.getTime()).toBe((grant.expiresAt ?? 0) - 10 * 60_000);
      expect(await h.service.grants.warnExpiring(grant.id)).toBe(false); // 50 minutes early: a stale job after an extension
      h.clock.advance(HOUR - 10 * 60_000);
      expect(await h.service.grants.warnExpiring(grant.id)).toBe(true);
      expect(h.notifier.types()).toContain('grant_expiring');
      const short = await requestSandbox(20 * 60_000);
      expect(short.value?.kind === 'granted' && h.scheduler.warnings.has(short.value.grant.id)).toBe(false);
    });

    it("lets an admin revoke anyone's grant", async () => {
      const grant = await grantSandbox();
      expect((await h.service.revoke(grant.id, PEOPLE.security)).value).toMatchObject({ kind: 'ended', grant: { state: 'revoked' } });
    });

    it('expires a grant only when due, and is idempotent', async () => {
      const grant = await grantSandbox();
      expect((await h.service.expire(grant.id)).kind).toBe('not_due');
      h.clock.advance(HOUR + 250);
      expect((await h.service.expire(grant.id)).kind).toBe('ended');
      expect((await h.service.expire(grant.id)).kind).toBe('not_live');
      expect(h.provider.count('revoke')).toBe(1);
      const expired = await h.sql.get("SELECT details FROM audit_log WHERE action = 'grant.expired'") as { details: string };
      expect(JSON.parse(expired.details)).toMatchObject({ late_ms: 250 });
    });

    it('marks a grant revoke_failed after three failed revokes, alerts, and ends it on a later try', async () => {
      const grant = await grantSandbox();
      h.clock.advance(HOUR);
      h.provider.failRevokes = 3;
      expect(await h.service.expire(grant.id)).toMatchObject({ kind: 'revoke_failed', grant: { state: 'revoke_failed', revokeAttempts: 3 } });
      expect(h.notifier.types()).toContain('grant_revoke_failed');
      expect((await h.service.expire(grant.id)).kind).toBe('ended');
      expect((await h.store.getGrant(grant.id))?.state).toBe('expired');
      expect((await h.auditActions()).filter((a) => a.startsWith('grant.'))).toEqual(['grant.activated', 'grant.revoke_failed', 'grant.expired', 'grant.verified_absent']);
    });

    it('treats access the provider still reports after revoking as a failed revoke', async () => {
      const grant = await grantSandbox();
      h.provider.revokeLeavesAccess = true;
      expect((await h.service.revoke(grant.id, PEOPLE.engineer)).value?.kind).toBe('revoke_failed');
      expect((await h.store.getGrant(grant.id))?.state).toBe('revoke_failed');
    });

    it('still revokes a grant whose resource was removed from the policy since', async () => {
      const grant = await grantSandbox();
      h.setPolicy(aLoadedPolicy({ resources: { sandbox: undefined } }));
      h.clock.advance(HOUR);
      expect((await h.service.expire(grant.id)).kind).toBe('ended');
      expect(h.provider.present.size).toBe(0);
    });
  });

  describe('extend', () => {
    it('extends an auto-approved grant by the extra time and moves its revocation', async () => {
      const first = await requestSandbox(HOUR);
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected a grant');
      const out = await h.service.extend(grant.id, PEOPLE.engineer, HOUR);
      expect(out.value).toMatchObject({ kind: 'extended', grant: { expiresAt: (grant.expiresAt ?? 0) + HOUR } });
      expect(h.scheduler.revokes.get(grant.id)?.getTime()).toBe((grant.expiresAt ?? 0) + HOUR);
      expect(h.provider.count('extend')).toBe(1);
      expect((await h.auditActions()).slice(-3)).toEqual(['request.created', 'request.auto_approved', 'grant.extended']);
    });

    it('refuses an extension longer than the tier allows, or by someone else', async () => {
      const first = await requestSandbox(HOUR);
      const grantId = first.value?.kind === 'granted' ? first.value.grant.id : 0;
      expect((await h.service.extend(grantId, PEOPLE.engineer, 9 * HOUR)).error?.code).toBe('extension_too_long');
      expect((await h.service.extend(grantId, PEOPLE.lead1, HOUR)).error?.code).toBe('not_grant_owner');
    });

    it("keeps the whole grant within the tier's max_duration, however many auto-approved extensions are asked", async () => {
      const first = await requestSandbox(2 * HOUR);
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected a grant');
      const outcomes = [];
      for (let i = 0; i < 30; i++) outcomes.push(await h.service.extend(grant.id, PEOPLE.engineer, HOUR));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(6);
      expect(outcomes.at(-1)?.error).toMatchObject({ code: 'extension_too_long', max: 8 * HOUR, allowance: 0 });
      const final = await h.store.getGrant(grant.id);
      expect((final?.expiresAt ?? 0) - (final?.startsAt ?? 0)).toBe(8 * HOUR);
      expect((await h.auditActions()).filter((a) => a === 'grant.extend_refused')).toHaveLength(24);
    });

    it('applies only what fits when two extensions are asked at the same instant', async () => {
      const first = await requestSandbox(HOUR);
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected a grant');
      await Promise.all([h.service.extend(grant.id, PEOPLE.engineer, 4 * HOUR), h.service.extend(grant.id, PEOPLE.engineer, 4 * HOUR)]);
      const final = await h.store.getGrant(grant.id);
      expect((final?.expiresAt ?? 0) - (final?.startsAt ?? 0)).toBe(5 * HOUR);
      expect((await h.auditActions()).filter((a) => a === 'grant.extended')).toHaveLength(1);
    });

    it('sends an extension that needs approval to the approvers, and extends once approved', async () => {
      const first = await h.service.request({ requester: PEOPLE.oncall, resource: 'deployers', duration: HOUR, reason: 'release INC-3' });
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected an on-call auto-approval');
      h.clock.set(EVENING);
      const pending = await h.service.extend(grant.id, PEOPLE.oncall, HOUR);
      expect(pending.value).toMatchObject({ kind: 'pending', request: { extendsGrantId: grant.id } });
      const approved = await h.service.approve(pending.value?.request.id ?? 0, PEOPLE.lead1);
      expect(approved.value).toMatchObject({ kind: 'approved', fulfilled: { kind: 'extended', grant: { expiresAt: (grant.expiresAt ?? 0) + HOUR } } });
      expect(h.provider.count('grant')).toBe(1);
    });
  });

  describe('approvals judged against the current policy', () => {
    const cancelledWith = async (id: number) => {
      expect(await h.store.getRequest(id)).toMatchObject({ state: 'cancelled', decidedBy: 'sesame' });
      expect(h.provider.count('grant')).toBe(0);
      expect(h.notifier.types()).toContain('request_cancelled');
      const row = await h.sql.get("SELECT actor, details FROM audit_log WHERE action = 'request.cancelled' AND request_id = ?", `R${id}`) as { actor: string; details: string };
      expect(row.actor).toBe('sesame');
      return JSON.parse(row.details) as { code: string; cause: string; note: string };
    };

    it('cancels, not grants, when the requester left the eligible group since asking', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.directory.usergroups.S0ENG = [PEOPLE.engineer2, PEOPLE.oncall];
      const out = await h.service.approve(id, PEOPLE.security);
      expect(out.error).toMatchObject({ code: 'no_longer_allowed', requestId: `R${id}`, cause: { code: 'not_eligible' } });
      expect(await cancelledWith(id)).toMatchObject({ code: 'no_longer_allowed', cause: 'not_eligible', note: expect.stringContaining('Only members of "engineering" may request "prod-db"') });
    });

    it('cancels when the resource is gone from the policy', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.setPolicy(aLoadedPolicy({ resources: { 'prod-db': undefined } }));
      expect((await h.service.approve(id, PEOPLE.security)).error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'unknown_resource' } });
      expect((await cancelledWith(id)).cause).toBe('unknown_resource');
    });

    it('cancels when the role asked for is gone from the resource', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.setPolicy(aLoadedPolicy({ resources: { 'prod-db': { roles: { write: undefined } } } }));
      expect((await h.service.approve(id, PEOPLE.security)).error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'unknown_role', input: 'write' } });
      expect((await cancelledWith(id)).cause).toBe('unknown_role');
    });

    it('cancels when the tier now refuses what was asked (a shorter max_duration)', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.setPolicy(aLoadedPolicy({ tiers: { high: { max_duration: '30m' } } }));
      const out = await h.service.approve(id, PEOPLE.security);
      expect(out.error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'duration_too_long', max: HOUR / 2, tier: 'high' } });
      expect((await cancelledWith(id)).cause).toBe('duration_too_long');
    });

    it('cancels when the tier now asks for more approvals than were asked of this request', async () => {
      h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }] } } }));
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.setPolicy(aLoadedPolicy());
      expect((await h.service.approve(id, PEOPLE.lead1)).error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'approvals_changed', tier: 'high' } });
      expect((await cancelledWith(id)).cause).toBe('approvals_changed');
    });

    it('cancels an extension approved after another one took the grant to its maximum', async () => {
      const first = await h.service.request({ requester: PEOPLE.oncall, resource: 'deployers', duration: HOUR, reason: 'release INC-3' });
      const grant = first.value?.kind === 'granted' ? first.value.grant : null;
      if (!grant) throw new Error('expected an on-call auto-approval');
      h.clock.set(EVENING);
      const a = (await h.service.extend(grant.id, PEOPLE.oncall, 2 * HOUR)).value?.request.id ?? 0;
      const b = (await h.service.extend(grant.id, PEOPLE.oncall, 2 * HOUR)).value?.request.id ?? 0;
      expect((await h.service.approve(a, PEOPLE.lead1)).value).toMatchObject({ kind: 'approved', fulfilled: { kind: 'extended' } });
      expect((await h.service.approve(b, PEOPLE.lead1)).error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'extension_too_long', max: 4 * HOUR } });
      const final = await h.store.getGrant(grant.id);
      expect((final?.expiresAt ?? 0) - (final?.startsAt ?? 0)).toBe(3 * HOUR);
    });
  });

  describe('guests and other workspaces', () => {
    it('refuses a guest requester and audits it', async () => {
      h.directory.standings.set(PEOPLE.engineer, 'guest');
      expect((await requestSandbox()).error).toEqual({ code: 'outsider_refused', standing: 'guest' });
      expect((await h.auditActions())).toEqual(['request.refused']);
      expect(await h.service.requestable(PEOPLE.engineer)).toEqual([]);
    });

    it('refuses an approver from another workspace, even one listed in the step group, and audits it', async () => {
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      h.directory.standings.set(PEOPLE.security, 'external');
      expect((await h.service.approve(id, PEOPLE.security)).error).toEqual({ code: 'outsider_refused', standing: 'external' });
      expect((await h.service.prepareDeny(id, PEOPLE.security)).error?.code).toBe('outsider_refused');
      expect((await h.auditActions())).toEqual(['request.created', 'approval.refused', 'approval.refused']);
      expect((await h.store.getRequest(id))?.state).toBe('pending');
    });

    it('lets them act when settings.allow_guests is true', async () => {
      h.setPolicy(aLoadedPolicy({ settings: { allow_guests: true } }));
      h.directory.standings.set(PEOPLE.security, 'guest');
      const id = (await requestProdWrite()).value?.request.id ?? 0;
      expect((await h.service.approve(id, PEOPLE.security)).value).toMatchObject({ kind: 'next_step' });
    });
  });

  describe('break-glass', () => {
    const breakGlass = (channelId = 'C0INC42', requester: string = PEOPLE.oncall, duration = 3 * HOUR) =>
      h.service.request({ requester, resource: 'prod-db', role: 'write', duration, reason: 'INC-42 primary down', breakglass: true, channelId });

    it('grants at once from an incident channel, capped at the maximum, and audits the use', async () => {
      const out = await breakGlass();
      expect(out.value).toMatchObject({ kind: 'granted', grant: { breakglass: true, expiresAt: h.clock.now().getTime() + HOUR } });
      expect((await h.auditActions())).toEqual(['request.created', 'breakglass.used', 'grant.activated']);
      const created = await h.sql.get("SELECT details FROM audit_log WHERE action = 'request.created'") as { details: string };
      expect(JSON.parse(created.details)).toMatchObject({ capped_from_ms: 3 * HOUR, duration_ms: HOUR });
    });

    it('reads the channel name fresh, past the directory cache, so a renamed channel counts at once', async () => {
      const asked: unknown[] = [];
      const cached = h.directory.channelName.bind(h.directory);
      h.directory.channelName = async (id: string, options?: { fresh?: boolean }) => {
        asked.push(options);
        return cached(id);
      };
      expect((await breakGlass()).ok).toBe(true);
      expect(asked).toEqual([{ fresh: true }]);
    });

    it('refuses outside incident channels and for people not on call', async () => {
      expect((await breakGlass('C0GENERAL')).error).toMatchObject({ code: 'breakglass_wrong_channel', channel: 'general' });
      expect((await breakGlass('C0INC42', PEOPLE.engineer)).error?.code).toBe('breakglass_not_in_group');
    });

    it('still grants when the scheduler is down: fail open for incidents', async () => {
      h.scheduler.isAvailable = false;
      expect((await breakGlass()).value?.kind).toBe('granted');
    });

    it('refuses after max_per_hour uses, and allows again an hour later', async () => {
      for (let i = 0; i < 3; i++) expect((await breakGlass()).ok).toBe(true);
      expect((await breakGlass()).error).toEqual({ code: 'breakglass_rate_limited', max: 3 });
      h.clock.advance(HOUR + 1000);
      expect((await breakGlass()).ok).toBe(true);
    });
  });

  describe('listings', () => {
    it('shows my pending requests and live grants, and what waits for my approval', async () => {
      await requestSandbox();
      const pending = await requestProdWrite();
      const mine = await h.service.overview(PEOPLE.engineer);
      expect(mine.requests.map((r) => r.id)).toEqual([pending.value?.request.id]);
      expect(mine.grants).toHaveLength(1);
      expect((await h.service.awaitingApprovalBy(PEOPLE.security)).map((r) => r.id)).toEqual([pending.value?.request.id]);
      expect(await h.service.awaitingApprovalBy(PEOPLE.lead1)).toEqual([]);
      expect(await h.service.awaitingApprovalBy(PEOPLE.engineer)).toEqual([]);
    });
  });
});
