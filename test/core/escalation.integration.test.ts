// Escalation through the core: when a step escalates, who may decide it then (and not before), and that it happens once.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { onPostgres } from '../support/store-factories.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MANAGER = 'U0MGR1';
const MANAGER2 = 'U0MGR2';

/**
 * prod-db write (tier high): security, escalating to managers after 30m; then 2 sre-leads, escalating after 10m.
 * The requester (U0ENG1) and lead1 are managers too, for the abuse cases.
 */
const escalatingPolicy = (steps?: unknown[]) =>
  aLoadedPolicy({
    groups: { managers: { users: [MANAGER, MANAGER2, PEOPLE.engineer, PEOPLE.lead1] } },
    tiers: {
      high: {
        approvals: (steps ?? [
          { from: 'security', count: 1, escalate_after: '30m', escalate_to: 'managers' },
          { from: 'sre-leads', count: 2, escalate_after: '10m', escalate_to: 'managers' },
        ]) as never,
      },
    },
  });

describe('escalation', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(escalatingPolicy());
  });

  const requestProdWrite = async () => {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'migration INC-7' });
    if (out.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${out.value?.kind ?? out.error?.code}`);
    return out.value.request.id;
  };
  const refusalOf = async (id: number, user: string) => (await h.service.approve(id, user)).error;
  const escalatedEvents = () => h.notifier.events.filter((e) => e.type === 'request_escalated');

  it("sets the first step's escalation time when the request is made, and schedules its job", async () => {
    const created = h.clock.now().getTime();
    const id = await requestProdWrite();
    expect(await h.store.getRequest(id)).toMatchObject({ escalateAt: created + 30 * MINUTE, escalatedStep: null });
    expect(h.scheduler.escalations.get(id)?.getTime()).toBe(created + 30 * MINUTE);
  });

  it('refuses a member of escalate_to before the escalation, and does not escalate early', async () => {
    const id = await requestProdWrite();
    expect(await refusalOf(id, MANAGER)).toMatchObject({ code: 'not_in_step_group', group: 'security', escalation: { to: 'managers', done: false } });
    expect((await h.service.prepareDeny(id, MANAGER)).error?.code).toBe('not_in_step_group');
    h.clock.advance(30 * MINUTE - 1);
    expect(await h.service.escalations.escalate(id)).toBe(false);
    expect((await h.auditActions())).not.toContain('request.escalated');
    expect(await h.store.approvalsFor(id)).toEqual([]);
  });

  it('escalates once when the time comes: audited, announced with the members to DM (not the requester), and the group may then decide', async () => {
    const id = await requestProdWrite();
    h.clock.advance(30 * MINUTE);
    expect(await h.service.escalations.escalate(id)).toBe(true);
    expect(await h.service.escalations.escalate(id)).toBe(false);
    expect((await h.auditActions()).filter((a) => a === 'request.escalated')).toHaveLength(1);
    const entry = await h.sql.get("SELECT actor, request_id, details FROM audit_log WHERE action = 'request.escalated'") as { actor: string; request_id: string; details: string };
    expect(entry).toMatchObject({ actor: 'sesame', request_id: `R${id}` });
    expect(JSON.parse(entry.details)).toEqual({ step: 0, from: 'security', to: 'managers', after_ms: 30 * MINUTE });
    expect(await h.store.getRequest(id)).toMatchObject({ escalatedStep: 0, escalateAt: null, currentStep: 0 });
    expect(escalatedEvents()).toHaveLength(1);
    expect(escalatedEvents()[0]).toMatchObject({ to: 'managers', members: [MANAGER, MANAGER2, PEOPLE.lead1] });

    const approved = await h.service.approve(id, MANAGER);
    expect(approved.value?.kind).toBe('next_step');
    expect(await h.store.getRequest(id)).toMatchObject({ currentStep: 1, escalatedStep: 0, escalateAt: h.clock.now().getTime() + 10 * MINUTE });
    expect(h.scheduler.escalations.get(id)?.getTime()).toBe(h.clock.now().getTime() + 10 * MINUTE);
  });

  it('still refuses the requester who is a member of escalate_to, after the escalation', async () => {
    const id = await requestProdWrite();
    h.clock.advance(30 * MINUTE);
    await h.service.escalations.escalate(id);
    expect(await refusalOf(id, PEOPLE.engineer)).toMatchObject({ code: 'self_approval' });
    expect((await h.service.deny(id, PEOPLE.engineer, 'no')).error?.code).toBe('self_approval');
    expect((await h.store.getRequest(id))?.state).toBe('pending');
  });

  it('lets a member of escalate_to deny once escalated', async () => {
    const id = await requestProdWrite();
    h.clock.advance(31 * MINUTE);
    await h.service.escalations.escalate(id);
    expect((await h.service.deny(id, MANAGER2, 'not now')).ok).toBe(true);
    expect(await h.store.getRequest(id)).toMatchObject({ state: 'denied', decidedBy: MANAGER2 });
  });

  it('starts the next step unescalated, and counts one person once across both groups', async () => {
    const id = await requestProdWrite();
    await h.service.approve(id, PEOPLE.security); // step 1 done before its escalation
    expect(await h.store.getRequest(id)).toMatchObject({ currentStep: 1, escalatedStep: null });
    expect(await refusalOf(id, MANAGER)).toMatchObject({ code: 'not_in_step_group', group: 'sre-leads', escalation: { to: 'managers', done: false } });
    h.clock.advance(10 * MINUTE);
    expect(await h.service.escalations.escalate(id)).toBe(true);
    // lead1 is in sre-leads and in managers: one approval, however many groups they are in.
    expect((await h.service.approve(id, PEOPLE.lead1)).value).toMatchObject({ kind: 'recorded', have: 1, need: 2 });
    expect(await refusalOf(id, PEOPLE.lead1)).toMatchObject({ code: 'already_approved' });
    expect(await refusalOf(id, PEOPLE.security)).toMatchObject({ code: 'not_in_step_group', escalation: { to: 'managers', done: true } });
    expect((await h.service.approve(id, MANAGER)).value?.kind).toBe('approved');
    expect((await h.store.approvalsFor(id)).map((a) => [a.step, a.approver])).toEqual([[0, PEOPLE.security], [1, PEOPLE.lead1], [1, MANAGER]]);
  });

  it('does not escalate a request approved, denied or cancelled just before the escalation time', async () => {
    h.setPolicy(escalatingPolicy([{ from: 'security', count: 1, escalate_after: '30m', escalate_to: 'managers' }]));
    const approved = await requestProdWrite();
    const denied = await requestProdWrite();
    const cancelled = await requestProdWrite();
    h.clock.advance(30 * MINUTE - 1);
    expect((await h.service.approve(approved, PEOPLE.security)).value?.kind).toBe('approved');
    expect((await h.service.deny(denied, PEOPLE.security, null)).ok).toBe(true);
    expect((await h.service.cancel(cancelled, PEOPLE.engineer)).ok).toBe(true);
    expect(h.scheduler.escalations.has(approved)).toBe(false); // its job is cancelled with the others
    h.clock.advance(1);
    for (const id of [approved, denied, cancelled]) expect(await h.service.escalations.escalate(id)).toBe(false);
    expect((await h.auditActions())).not.toContain('request.escalated');
    expect(escalatedEvents()).toEqual([]);
  });

  it('does not escalate a request past its timeout: it times out instead', async () => {
    const id = await requestProdWrite();
    h.clock.advance(HOUR);
    expect(await h.service.escalations.escalate(id)).toBe(false);
    expect(await h.service.timeOut(id)).toBe(true);
  });

  it('cancels, instead of counting, an escalated approval once the policy no longer escalates that step', async () => {
    const id = await requestProdWrite();
    h.clock.advance(30 * MINUTE);
    await h.service.escalations.escalate(id);
    h.setPolicy(escalatingPolicy([{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }]));
    const out = await h.service.approve(id, MANAGER);
    expect(out.error).toMatchObject({ code: 'no_longer_allowed', cause: { code: 'approvals_changed' } });
    expect((await h.store.getRequest(id))?.state).toBe('cancelled');
    expect(await h.store.approvalsFor(id)).toEqual([]);
  });

  it('lists an escalated request as waiting for members of escalate_to, and not before', async () => {
    const id = await requestProdWrite();
    expect((await h.service.awaitingApprovalBy(MANAGER)).map((r) => r.id)).toEqual([]);
    h.clock.advance(30 * MINUTE);
    await h.service.escalations.escalate(id);
    expect((await h.service.awaitingApprovalBy(MANAGER)).map((r) => r.id)).toEqual([id]);
    expect((await h.service.awaitingApprovalBy(PEOPLE.engineer)).map((r) => r.id)).toEqual([]); // the requester's own
  });

  // SQLite only: `audit verify --tables` has no PostgreSQL version yet.
  it.skipIf(onPostgres)('is caught by audit verify when a step is marked escalated in the table alone', async () => {
    const id = await requestProdWrite();
    await h.sql.run('UPDATE requests SET escalated_step = 0 WHERE id = ?', id);
    expect(await h.opened.verifyTables?.()).toEqual([{ row: `request R${id}`, problem: 'escalated_step is 0 in the table but empty in the audit log' }]);
    await h.sql.run('UPDATE requests SET escalated_step = NULL WHERE id = ?', id);
  });
});
