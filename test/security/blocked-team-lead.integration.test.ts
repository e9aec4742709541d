// Adversary probes (attack3): a team lead blocked by revoke-all, on a bundle's team-lead step and as the only lead the
// requester's new requests are routed to.
import { describe, expect, it } from 'vitest';
import { teamLeadBundlePolicy } from '../support/team-lead-policy.ts';
import { PEOPLE, useFreshHarness, type Harness } from '../support/access-harness.ts';
import { blockOnly, userBlocksOf } from '../support/user-blocks.ts';

const HOUR = 3_600_000;
const policy = teamLeadBundlePolicy();

describe('adversary: a blocked team lead', () => {
  let h: Harness;
  useFreshHarness((fresh) => {
    h = fresh;
    h.setPolicy(policy);
  });

  async function kitPastTheLead(): Promise<number> {
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'INC-3 fix' });
    if (out.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(out)}`);
    expect((await h.service.approve(out.value.request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    return out.value.request.id;
  }

  it('cancels a bundle whose team-lead step the blocked lead approved; no member is granted', async () => {
    const id = await kitPastTheLead();
    const out = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    expect(out.ok && out.value.approvalsCancelled).toBe(1);
    const last = await h.service.approve(id, PEOPLE.lead2);
    expect(last.ok ? last.value.kind : last.error.code).toBe('not_pending');
    expect({ grants: (await h.store.grantsOfRequest(id)).length, granted: h.provider.count('grant') }).toEqual({ grants: 0, granted: 0 });
  });

  it('refuses the bundle\'s last step while only the block has landed, audited', async () => {
    const id = await kitPastTheLead();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    const last = await h.service.approve(id, PEOPLE.lead2);
    expect(last.ok ? last.value.kind : last.error.code).toBe('approval_by_blocked');
    expect(await h.store.grantsOfRequest(id)).toEqual([]);
    expect((await h.auditActions())).toContain('approval.refused');
  });

  it('does not let an unblock restore an approval the lead gave before the block', async () => {
    const id = await kitPastTheLead();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    // The block says the account may not have been theirs when they approved; a revoke-all cut short may not have
    // cancelled this request, so its approval never counts again.
    const refused = await h.service.approve(id, PEOPLE.lead2);
    expect(refused.ok ? refused.value.kind : refused.error.code).toBe('approval_by_blocked');
    // Asked again after the unblock, the lead's new approval counts.
    const again = await h.service.request({ requester: PEOPLE.engineer, resource: 'kit', duration: HOUR, reason: 'INC-3 again' });
    if (again.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(again)}`);
    h.clock.advance(1_000); // approved after the block, not in its millisecond
    expect((await h.service.approve(again.value.request.id, PEOPLE.lead1)).value?.kind).toBe('next_step');
    const id2 = again.value.request.id;
    expect((await h.service.approve(id2, PEOPLE.lead2)).value?.kind).toBe('approved');
    // Blocking the lead again ends what rests on their approval: the grants made on it are revoked, not left live.
    const reblocked = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'again');
    expect(reblocked.ok && reblocked.value.approvalsCancelled).toBe(1); // the first request, still pending
    const members = await h.store.grantsOfRequest(id2);
    expect(members.map((g) => g.state)).toEqual(['revoked', 'revoked']);
    expect(reblocked.ok && reblocked.value.endedApproved).toEqual(members.map((g) => `G${g.id}`));
    expect(reblocked.ok && reblocked.value.ended).toEqual(members.map((g) => `G${g.id}`));
  });

  // A blocked lead decides nothing, so a new request's team-lead step must not wait on them: with the team's only lead
  // blocked it goes to the fallback group, as for someone in no team.
  it('routes a new request past a blocked only lead', async () => {
    await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: HOUR, reason: 'CHG-2' });
    if (out.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(out)}`);
    expect(out.value.request.steps[0]).toEqual({ from: 'security', count: 1, leads_blocked: [PEOPLE.lead1] });
  });
});
