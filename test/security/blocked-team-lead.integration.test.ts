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

  it('lets an unblock restore the lead\'s approval only when revoke-all had not cancelled the request', async () => {
    const id = await kitPastTheLead();
    await blockOnly(h, PEOPLE.lead1, PEOPLE.security);
    expect((await userBlocksOf(h).unblock(PEOPLE.lead1, PEOPLE.security)).ok).toBe(true);
    h.clock.advance(1_000); // the grant is made after the block (a block in the same millisecond counts as since)
    // By design: the admin lifted the block, so the lead's approval counts again.
    expect((await h.service.approve(id, PEOPLE.lead2)).value?.kind).toBe('approved');
    // Blocking the lead again ends what rests on their approval: the grants made on it are revoked, not left live.
    const again = await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'again');
    expect(again.ok && again.value.approvalsCancelled).toBe(0);
    const members = await h.store.grantsOfRequest(id);
    expect(members.map((g) => g.state)).toEqual(['revoked', 'revoked']);
    expect(again.ok && again.value.endedApproved).toEqual(members.map((g) => `G${g.id}`));
    expect(again.ok && again.value.ended).toEqual(members.map((g) => `G${g.id}`));
  });

  // A blocked lead decides nothing, so a new request's team-lead step must not wait on them: with the team's only lead
  // blocked it goes to the fallback group, as for someone in no team.
  it('routes a new request past a blocked only lead', async () => {
    await userBlocksOf(h).revokeAll(PEOPLE.lead1, PEOPLE.security, 'account compromised');
    const out = await h.service.request({ requester: PEOPLE.engineer, resource: 'sandbox', role: 'admin', duration: HOUR, reason: 'CHG-2' });
    if (out.value?.kind !== 'pending') throw new Error(`expected a pending request, got ${JSON.stringify(out)}`);
    expect(out.value.request.steps[0]).toEqual({ from: 'security', count: 1 });
  });
});
