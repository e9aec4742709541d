// Adversary: a stolen approver account approves the first step of an accomplice's request; an admin notices and runs
// revoke-all on that account. Its approval already given used to count all the same: the honest approver of the last
// step saw "step 1 approved" and the grant was made, resting on the stolen account's approval. Now revoke-all cancels
// the pending requests and scheduled windows the blocked account approved (audited, the requester told), and an
// approval click on a request resting on a blocked account's approval is refused, should it come before that cancel.
import { describe, expect, it } from 'vitest';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;

describe('adversary: an approval given by an account blocked since', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as Parameters<typeof aLoadedPolicy>[0]));
  });

  async function stepOneApprovedByLead1(): Promise<number> {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-7 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;
    expect((await h.service.approve(id, PEOPLE.lead1)).value?.kind).toBe('next_step'); // the stolen lead account
    return id;
  }

  it('does not grant a request whose earlier step only a now-blocked account approved', async () => {
    const id = await stepOneApprovedByLead1();
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value).toMatchObject({ cancelled: 0, windowsCancelled: 0, approvalsCancelled: 1 });
    const last = await h.service.approve(id, PEOPLE.security); // the honest last step
    expect(last.ok ? last.value.kind : last.error.code).toBe('not_pending');
    expect({ grant: await h.store.grantForRequest(id), state: (await h.store.getRequest(id))?.state, granted: h.provider.count('grant') }).toEqual({ grant: undefined, state: 'cancelled', granted: 0 });
    // Audited with the reason and who approved; the requester is told.
    const cancel = (await h.auditEntries()).filter((e) => e.action === 'request.cancelled');
    expect(cancel.map((e) => ({ actor: e.actor, details: e.details }))).toEqual([{ actor: PEOPLE.security, details: { code: 'approver_blocked', approver: PEOPLE.lead1, note: expect.stringContaining('account compromised') as unknown } }]);
    expect(h.notifier.events.filter((e) => e.type === 'request_cancelled').map((e) => ('request' in e ? e.request.id : null))).toEqual([id]);
  });

  it('refuses the last step when the block landed but revoke-all has not cancelled the request yet', async () => {
    const id = await stepOneApprovedByLead1();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised');
    const last = await h.service.approve(id, PEOPLE.security);
    expect(last.ok ? last.value.kind : last.error).toEqual({ code: 'approval_by_blocked', requestId: 'R1', approver: PEOPLE.lead1, step: 0 });
    expect({ grant: await h.store.grantForRequest(id), state: (await h.store.getRequest(id))?.state, approvals: (await h.store.approvalsFor(id)).map((a) => a.approver) }).toEqual({ grant: undefined, state: 'pending', approvals: [PEOPLE.lead1] });
    expect((await h.auditActions())).toContain('approval.refused');
  });

  it('counts the approvals of people not blocked as before', async () => {
    const id = await stepOneApprovedByLead1();
    await blockOnly(h, PEOPLE.lead2, PEOPLE.security);
    const last = await h.service.approve(id, PEOPLE.security);
    expect(last.ok && last.value.kind).toBe('approved');
    expect((await h.store.grantForRequest(id))?.state).toBe('active');
  });
});
