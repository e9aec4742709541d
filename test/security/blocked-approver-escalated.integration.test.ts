// Adversary probes (attack3): an escalated step whose earlier approval came from an account blocked since, and whether
// the escalation group (not a blocked account) can still carry the request.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MANAGER = 'U0MGR1';
const MANAGER2 = 'U0MGR2';

describe('adversary: an escalated step resting on a blocked approver', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(
      aLoadedPolicy({
        groups: { managers: { users: [MANAGER, MANAGER2, PEOPLE.lead1] } },
        tiers: { high: { approvals: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2, escalate_after: '10m', escalate_to: 'managers' }] } },
      } as Parameters<typeof aLoadedPolicy>[0]),
    );
  });

  async function halfwayThroughStepTwo(): Promise<number> {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-9' });
    if (out.value?.kind !== 'pending') throw new Error('expected a pending request');
    const id = out.value.request.id;
    expect((await h.service.approve(id, PEOPLE.security)).value?.kind).toBe('next_step');
    expect((await h.service.approve(id, PEOPLE.lead1)).value?.kind).toBe('recorded'); // the stolen lead, also a manager
    return id;
  }

  it('refuses the escalation group\'s click on a step the blocked account half-approved', async () => {
    const id = await halfwayThroughStepTwo();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    h.clock.advance(10 * MINUTE);
    expect(await h.service.escalations.escalate(id)).toBe(true);
    expect((await h.service.approve(id, MANAGER)).error).toMatchObject({ code: 'approval_by_blocked', approver: PEOPLE.lead1, step: 1 });
    expect(await h.store.grantForRequest(id)).toBeUndefined();
    const refused = (await h.auditEntries()).filter((e) => e.action === 'approval.refused');
    expect(refused.map((e) => ({ actor: e.actor, code: (e.details as { code?: string }).code }))).toEqual([{ actor: MANAGER, code: 'approval_by_blocked' }]);
  });

  it('cancels it at revoke-all, and the blocked manager cannot decide an escalated step either', async () => {
    const id = await halfwayThroughStepTwo();
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value.approvalsCancelled).toBe(1);
    expect((await h.store.getRequest(id))?.state).toBe('cancelled');
    const again = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-9 again' });
    if (again.value?.kind !== 'pending') throw new Error('expected a pending request');
    await h.service.approve(again.value.request.id, PEOPLE.security);
    h.clock.advance(10 * MINUTE);
    await h.service.escalations.escalate(again.value.request.id);
    expect((await h.service.approve(again.value.request.id, PEOPLE.lead1)).error?.code).toBe('blocked_decider');
    expect((await h.service.approve(again.value.request.id, MANAGER)).value?.kind).toBe('recorded');
    expect((await h.service.approve(again.value.request.id, MANAGER2)).value?.kind).toBe('approved');
  });
});
