// Adversary probes of the blocked-approver rules (attack3): an extension resting on a blocked approver, a final approval
// racing revoke-all on its approver, and a window whose approver's block landed without revoke-all's cancel.
import { describe, expect, it } from 'vitest';
import { holdApprovedNotices } from '../support/gates.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { aLoadedPolicy } from '../support/policy-fixtures.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
type PolicyInput = Parameters<typeof aLoadedPolicy>[0];


describe('adversary: an extension resting on a since-blocked approver', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as PolicyInput));
  });

  it('cancels the extension the stolen lead approved a step of; the grant keeps its end', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-7 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    expect((await h.service.approve(asked.value.request.id, PEOPLE.lead2)).value?.kind).toBe('next_step');
    expect((await h.service.approve(asked.value.request.id, PEOPLE.security)).value?.kind).toBe('approved');
    const grant = await h.store.grantForRequest(asked.value.request.id);
    if (grant?.state !== 'active') throw new Error('expected an active grant');
    const ext = await h.service.extend(grant.id, PEOPLE.engineer, HOUR);
    if (!ext.ok || ext.value.kind !== 'pending') throw new Error(`expected a pending extension, got ${JSON.stringify(ext)}`);
    const extId = ext.value.request.id;
    expect((await h.service.approve(extId, PEOPLE.lead1)).value?.kind).toBe('next_step');
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value.approvalsCancelled).toBe(1);
    const last = await h.service.approve(extId, PEOPLE.security);
    expect(last.ok ? last.value.kind : last.error.code).toBe('not_pending');
    expect({ state: (await h.store.getRequest(extId))?.state, expiresAt: (await h.store.getGrant(grant.id))?.expiresAt, extended: h.provider.count('extend') }).toEqual({ state: 'cancelled', expiresAt: grant.expiresAt, extended: 0 });
  });

  it('refuses the last step of an extension when only the block has landed', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-8 fix' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    await h.service.approve(asked.value.request.id, PEOPLE.lead2);
    await h.service.approve(asked.value.request.id, PEOPLE.security);
    const grant = await h.store.grantForRequest(asked.value.request.id);
    if (grant?.state !== 'active') throw new Error('expected an active grant');
    const ext = await h.service.extend(grant.id, PEOPLE.engineer, HOUR);
    if (!ext.ok || ext.value.kind !== 'pending') throw new Error('expected a pending extension');
    await h.service.approve(ext.value.request.id, PEOPLE.lead1);
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised');
    const last = await h.service.approve(ext.value.request.id, PEOPLE.security);
    expect(last.ok ? last.value.kind : last.error.code).toBe('approval_by_blocked');
    expect(h.provider.count('extend')).toBe(0);
    expect((await h.auditActions())).toContain('approval.refused');
  });
});

describe('careless admin: a request left resting on a blocked approval (revoke-all stopped after its block)', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { high: { approvals: [{ from: 'sre-leads', count: 1 }, { from: 'security', count: 1 }] } } } as PolicyInput));
  });

  it('is not stuck: the honest approver can still deny it, and the requester can ask again', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-10' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    await h.service.approve(asked.value.request.id, PEOPLE.lead1);
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    expect((await h.service.approve(asked.value.request.id, PEOPLE.security)).error?.code).toBe('approval_by_blocked');
    expect((await h.service.deny(asked.value.request.id, PEOPLE.security, 'rests on a blocked approval')).ok).toBe(true);
    const again = await h.service.request({ requester: PEOPLE.engineer, resource: 'prod-db', role: 'write', duration: HOUR, reason: 'INC-10 again' });
    expect(again.ok && again.value.kind).toBe('pending');
  });
});

describe('adversary: a final approval racing revoke-all on its approver', () => {
  let h: Harness;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as PolicyInput));
  });

  // Was a gap: the click committed `approved` before the block, revoke-all's scan (pending/scheduled only) skips it, and
  // the grant keeper checked only the requester's block. Now it checks the approvers' too, in the pending-grant transaction.
  it('does not make a grant after the block on the blocked approver\'s final approval', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'accomplice' });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const { reached: telling, release } = holdApprovedNotices(h);
    const approving = h.service.approve(asked.value.request.id, PEOPLE.lead1);
    await telling;
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value.approvalsCancelled).toBe(0); // `approved` at that moment: neither pending nor scheduled
    release();
    const approved = await approving;
    expect({ granted: h.provider.count('grant'), grant: (await h.store.grantForRequest(asked.value.request.id))?.state ?? null }).toEqual({ granted: 0, grant: null });
    // The requester is told why, and what to do.
    expect(approved.ok && approved.value.kind === 'approved' && approved.value.fulfilled).toMatchObject({ kind: 'failed', problem: expect.stringContaining('ask again and someone else can approve it') });
  });
});

describe('adversary: a scheduled window whose approver was blocked without revoke-all\'s cancel', () => {
  let h: Harness;
  let startsAt = 0;
  useFreshHarness((harness) => {
    h = harness;
    h.setPolicy(aLoadedPolicy({ tiers: { low: { auto_approve: undefined, approvals: [{ from: 'sre-leads', count: 1 }] } } } as PolicyInput));
    startsAt = h.clock.now().getTime() + 2 * HOUR;
  });

  // Was a gap: revoke-all stopped (crash, restart) after its block and before its cancels, and a window's start checked
  // only its requester's block. Its grant now checks the approvers' blocks as every grant does.
  it('does not start a window resting on a blocked approver', async () => {
    const asked = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', duration: HOUR, reason: 'planned CHG-9', startsAt });
    if (!asked.ok || asked.value.kind !== 'pending') throw new Error('expected a pending request');
    const id = asked.value.request.id;
    expect((await h.service.approve(id, PEOPLE.lead1)).value?.kind).toBe('approved');
    expect((await h.store.getRequest(id))?.state).toBe('scheduled');
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security, 'account compromised');
    h.clock.set(new Date(startsAt));
    await h.service.windows.activate(id);
    expect({ granted: h.provider.count('grant'), state: (await h.store.getRequest(id))?.state }).toMatchObject({ granted: 0 });
  });
});
